"""Layout of the documents we store, and strict decoding of what we read back.

Every lookup is by a string ``_id``: FerretDB v1 (SQLite backend) pushes only an
equality filter on a string or ObjectId ``_id`` down to SQL; any other filter or sort
is evaluated by scanning and decoding the whole collection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn
from uuid import UUID

from bson import Binary
from eventsourcing.persistence import StoredEvent, Tracking

from shared.eventstore.errors import CorruptDocumentError

# Zero padding keeps lexical order equal to numeric order for people browsing the log.
_COMMIT_ID_WIDTH = 16
# Room left for field names and BSON framing when estimating a document's size.
_PER_EVENT_OVERHEAD = 96
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024 - 64 * 1024

WATERMARK_ID = "@projected"
# Tracking positions live beside the stream pages, so that one bulk write projects a whole commit.
TRACKING_PREFIX = "@tracking:"

# Versions per page of the stream projection (page k: versions k * PAGE_SIZE + 1 ..).
# Every write of an aggregate reads and rewrites the one page its new version falls in,
# and FerretDB decodes and re-encodes a whole document per read or update, so the page
# size bounds that cost; a read touches one page per PAGE_SIZE versions it returns, one
# point lookup each.  64 keeps a hot aggregate's write within a few milliseconds of a
# fresh one's, while most aggregates (an order, a customer: a few dozen events) still
# live in their head page, so loading them stays a single lookup.
PAGE_SIZE = 64
# Wide enough for any version a 64-bit integer holds, so a page _id never changes width.
_PAGE_NUMBER_WIDTH = 18


def commit_id(number: int) -> str:
    return f"{number:0{_COMMIT_ID_WIDTH}d}"


def stream_id(originator_id: UUID | str) -> str:
    # The prefix keeps a str id that happens to look like a UUID apart from a UUID id.
    if isinstance(originator_id, UUID):
        return "u" + originator_id.hex
    return "s" + originator_id


def page_number(version: int) -> int:
    # Aggregates count versions from 1: page 0 holds versions 1..PAGE_SIZE.
    return (version - 1) // PAGE_SIZE


def page_id(sid: str, page: int) -> str:
    # A string _id, so that FerretDB pushes the lookup and the update down to SQL.
    return f"{sid}#{page:0{_PAGE_NUMBER_WIDTH}d}"


def event_size(event: StoredEvent) -> int:
    return len(event.state) + len(event.topic) + _PER_EVENT_OVERHEAD


@dataclass(frozen=True)
class CommitPosition:
    """Where a commit sits in the notification sequence: ids first..last (last < first if empty)."""

    number: int
    first: int
    last: int


@dataclass(frozen=True)
class Commit:
    position: CommitPosition
    events: tuple[StoredEvent, ...]
    tracking: Tracking | None
    # A batch commit (shared/messaging): the Kafka positions it consumed up to and the ids of the messages it
    # consumed, so that a new owner of the log can tell a redelivery from a new message.
    trackings: tuple[Tracking, ...] = ()
    consumed: tuple[str, ...] = ()


def encode_commit(
    position: CommitPosition,
    events: tuple[StoredEvent, ...],
    tracking: Tracking | None,
    trackings: tuple[Tracking, ...] = (),
    consumed: tuple[str, ...] = (),
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": commit_id(position.number),
        "first": position.first,
        "last": position.last,
        "events": [
            {"o": e.originator_id, "v": e.originator_version, "t": e.topic, "s": Binary(e.state)} for e in events
        ],
    }
    if tracking is not None:
        doc["tracking"] = {"a": tracking.application_name, "n": tracking.notification_id}
    if trackings:
        # An array, not a map: tracking names hold '.', which FerretDB does not allow in keys.
        doc["tk"] = [{"a": t.application_name, "n": t.notification_id} for t in trackings]
    if consumed:
        doc["in"] = list(consumed)
    return doc


def encode_stream_entry(event: StoredEvent) -> dict[str, Any]:
    return {"t": event.topic, "s": Binary(event.state)}


class _Reader:
    """Field accessors that turn any surprise into a CorruptDocumentError."""

    def __init__(self, collection: str, doc: Any, expected_id: str | None = None) -> None:
        self.collection = collection
        self.doc_id = doc.get("_id") if isinstance(doc, dict) else None
        if not isinstance(doc, dict):
            self.fail(f"expected a document, got {type(doc).__name__}")
        if expected_id is not None and self.doc_id != expected_id:
            self.fail(f"expected _id {expected_id!r}")
        self.doc: dict[str, Any] = doc

    def fail(self, reason: str) -> NoReturn:
        raise CorruptDocumentError(self.collection, self.doc_id, reason)

    def integer(self, container: dict[str, Any], key: str) -> int:
        value = container.get(key)
        # bool is an int subclass, and never something we wrote.
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(f"field '{key}' must be an integer, got {value!r}")
        return value

    def string(self, container: dict[str, Any], key: str) -> str:
        value = container.get(key)
        if not isinstance(value, str):
            self.fail(f"field '{key}' must be a string, got {value!r}")
        return value

    def blob(self, container: dict[str, Any], key: str) -> bytes:
        value = container.get(key)
        if not isinstance(value, bytes):
            self.fail(f"field '{key}' must be binary, got {type(value).__name__}")
        return bytes(value)

    def originator(self, container: dict[str, Any], key: str) -> UUID | str:
        value = container.get(key)
        if not isinstance(value, (UUID, str)):
            self.fail(f"field '{key}' must be a UUID or a string, got {value!r}")
        return value

    def subdocument(self, container: dict[str, Any], key: str) -> dict[str, Any]:
        value = container.get(key)
        if not isinstance(value, dict):
            self.fail(f"field '{key}' must be a document")
        return value


def decode_position(collection: str, number: int, doc: Any) -> CommitPosition:
    r = _Reader(collection, doc, commit_id(number))
    first, last = r.integer(r.doc, "first"), r.integer(r.doc, "last")
    if first < 1 or last < first - 1:
        r.fail(f"notification range {first}..{last} is invalid")
    return CommitPosition(number, first, last)


def decode_commit(collection: str, number: int, doc: Any) -> Commit:
    position = decode_position(collection, number, doc)
    r = _Reader(collection, doc)
    raw_events = r.doc.get("events")
    if not isinstance(raw_events, list):
        r.fail("field 'events' must be an array")
    if len(raw_events) != position.last - position.first + 1:
        r.fail(f"holds {len(raw_events)} events but claims notification ids {position.first}..{position.last}")
    events = []
    for raw in raw_events:
        if not isinstance(raw, dict):
            r.fail("an element of 'events' is not a document")
        events.append(
            StoredEvent(
                originator_id=r.originator(raw, "o"),
                originator_version=r.integer(raw, "v"),
                topic=r.string(raw, "t"),
                state=r.blob(raw, "s"),
            )
        )
    tracking = None
    if "tracking" in r.doc:
        raw_tracking = r.subdocument(r.doc, "tracking")
        tracking = Tracking(r.string(raw_tracking, "a"), r.integer(raw_tracking, "n"))
    trackings = []
    for raw in r.doc.get("tk") or ():
        if not isinstance(raw, dict):
            r.fail("an element of 'tk' is not a document")
        trackings.append(Tracking(r.string(raw, "a"), r.integer(raw, "n")))
    consumed = r.doc.get("in") or []
    if not isinstance(consumed, list) or not all(isinstance(i, str) for i in consumed):
        r.fail("field 'in' must be an array of message ids")
    return Commit(position, tuple(events), tracking, tuple(trackings), tuple(consumed))


@dataclass(frozen=True)
class Page:
    """One page of a stream: its events by version and, in the head page (page 0), the
    numbers of every page that holds events (`listed`); None in other pages."""

    events: dict[int, StoredEvent]
    listed: frozenset[int] | None


def decode_page(collection: str, doc: Any, sid: str, page: int) -> Page:
    r = _Reader(collection, doc, page_id(sid, page))
    originator_id = r.originator(r.doc, "o")
    entries = r.subdocument(r.doc, "e")
    listed = None
    if page == 0:
        raw_listed = r.doc.get("p")
        if not isinstance(raw_listed, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in raw_listed
        ):
            r.fail(f"field 'p' of a stream's head page must be an array of page numbers, got {raw_listed!r}")
        listed = frozenset(raw_listed)
    events: dict[int, StoredEvent] = {}
    for key, raw in entries.items():
        try:
            version = int(key)
        except ValueError:
            r.fail(f"stream entry key {key!r} is not a version number")
        if page_number(version) != page:
            r.fail(f"stream entry {key!r} does not belong in page {page}")
        if not isinstance(raw, dict):
            r.fail(f"stream entry {key!r} is not a document")
        events[version] = StoredEvent(
            originator_id=originator_id,
            originator_version=version,
            topic=r.string(raw, "t"),
            state=r.blob(raw, "s"),
        )
    return Page(events, listed)


def decode_counter(collection: str, doc: Any, key: str = "n") -> int:
    r = _Reader(collection, doc)
    return r.integer(r.doc, key)
