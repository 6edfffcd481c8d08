"""The per-aggregate projection of the commit log, in pages of `PAGE_SIZE` versions.

Page `k` of a stream holds the versions `k * PAGE_SIZE + 1 .. (k + 1) * PAGE_SIZE`:
``{_id: "<stream id>#<k>", o, e: {"<version>": {t, s}}}``.  Page 0 is the stream's head:
it always exists once the stream does and also lists, in ``p``, every page holding events,
so that a reader finds where a stream ends (and, in a sparse stream such as snapshots,
which pages exist) with one lookup instead of probing.

Why a read is consistent without transactions.  Commits are projected in commit order (a
writer projects commit n + 1 only once commit n is), and a page is listed in the head only
after it is written, in the last write of the commit.  A reader reads the head first and
then only the pages listed there.  In a stream whose versions grow with its commits (every
aggregate), a page is final once a higher page holds events, so every listed page below the
highest one is final when the head is read, and what a reader gets is a prefix of the
versions: it may miss the newest commit, or see only its part in pages already listed, but
never a hole.  A commit that opens a page becomes visible at once with its head write.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, WriteError

from shared.eventstore import documents as docs
from shared.eventstore.datastore import Document
from shared.eventstore.errors import CorruptDocumentError, DocumentSizeError

# Room for one page number in the head's `p` array (BSON key, type and int64).
_LISTED_PAGE_BYTES = 32

_PageKey = tuple[str, int]
# An upsert of the document with this `_id`.
Upsert = tuple[str, dict[str, Any]]


def _by_page(events: Iterable[StoredEvent]) -> dict[_PageKey, list[StoredEvent]]:
    grouped: dict[_PageKey, list[StoredEvent]] = {}
    for e in events:
        key = (docs.stream_id(e.originator_id), docs.page_number(e.originator_version))
        grouped.setdefault(key, []).append(e)
    return grouped


class StreamPages:
    def __init__(self, collection: Collection[Document], name: str) -> None:
        self.collection = collection
        self.name = name

    # ----------------------------------------------------------------- writing

    def check(self, events: Sequence[StoredEvent]) -> set[str]:
        """Raises IntegrityError on a version conflict; returns the _ids of the pages that exist.

        Only the pages the new versions fall in are read: a conflicting version can be nowhere else.
        """
        existing = set()
        for (sid, page), new_events in _by_page(events).items():
            recorded = self._read(sid, page)
            if recorded is None:
                continue
            existing.add(docs.page_id(sid, page))
            for e in new_events:
                if e.originator_version in recorded.events:
                    msg = f"Stored event already recorded: {e}"
                    raise IntegrityError(msg)
            size = sum(map(docs.event_size, recorded.events.values())) + sum(map(docs.event_size, new_events))
            size += _LISTED_PAGE_BYTES * len(recorded.listed or ())
            if size > docs.MAX_DOCUMENT_BYTES:
                msg = f"Page {docs.page_id(sid, page)!r} in '{self.name}' would exceed the 16 MiB document limit"
                raise DocumentSizeError(msg)
        return existing

    def project(self, events: Sequence[StoredEvent], existing_pages: set[str] | None) -> None:
        """Idempotent: re-applying a commit sets the same fields to the same values.

        `existing_pages` is what `check` found just before the commit; None (catching up a
        commit someone else wrote) makes every write an upsert.
        """
        streams: dict[str, tuple[UUID | str, dict[int, dict[str, Any]]]] = {}
        for (sid, page), page_events in _by_page(events).items():
            originator_id = page_events[0].originator_id
            entries = {str(e.originator_version): docs.encode_stream_entry(e) for e in page_events}
            streams.setdefault(sid, (originator_id, {}))[1][page] = entries
        for sid, (originator_id, pages) in streams.items():
            self._project_stream(sid, originator_id, pages, existing_pages)

    def projection_writes(self, events: Sequence[StoredEvent]) -> list[Upsert]:
        """The upserts that project `events`, for one ordered bulk write: per stream, its other pages first and
        its head last, so that a reader sees a page listed only once it is written (see the module docstring).
        Idempotent, and needs no read: a single writer knows its versions are new."""
        writes: list[Upsert] = []
        streams: dict[str, tuple[UUID | str, dict[int, dict[str, Any]]]] = {}
        for (sid, page), page_events in _by_page(events).items():
            entries = {str(e.originator_version): docs.encode_stream_entry(e) for e in page_events}
            streams.setdefault(sid, (page_events[0].originator_id, {}))[1][page] = entries
        for sid, (originator_id, pages) in streams.items():
            others = sorted(p for p in pages if p != 0)
            for page in others:
                update = {f"e.{version}": entry for version, entry in pages[page].items()}
                writes.append((docs.page_id(sid, page), {"$set": {"o": originator_id, **update}}))
            head_entries = pages.get(0, {})
            head: dict[str, Any] = {
                "$set": {"o": originator_id, **{f"e.{version}": entry for version, entry in head_entries.items()}},
                "$addToSet": {"p": {"$each": ([0] if head_entries else []) + others}},
            }
            if not head_entries:
                head["$setOnInsert"] = {"e": {}}
            writes.append((docs.page_id(sid, 0), head))
        return writes

    def _project_stream(
        self,
        sid: str,
        originator_id: UUID | str,
        pages: dict[int, dict[str, Any]],
        existing_pages: set[str] | None,
    ) -> None:
        def known_missing(page: int) -> bool:
            return existing_pages is not None and docs.page_id(sid, page) not in existing_pages

        others = sorted(p for p in pages if p != 0)
        for page in others:
            self._write_page(sid, page, originator_id, pages[page], insert=known_missing(page))
        # Last, so that readers see the new pages only once they are written.
        to_list = [p for p in others if existing_pages is None or known_missing(p)]
        head_entries = pages.get(0)
        if head_entries is not None:
            self._write_head(sid, originator_id, head_entries, [0, *to_list], insert=known_missing(0))
        elif to_list:
            self._write_head(sid, originator_id, {}, to_list, insert=False)

    def _write_page(
        self, sid: str, page: int, originator_id: UUID | str, entries: dict[str, Any], *, insert: bool
    ) -> None:
        doc_id = docs.page_id(sid, page)
        if insert:
            # An insert is much cheaper than an upsert on FerretDB.
            try:
                self.collection.insert_one({"_id": doc_id, "o": originator_id, "e": entries})
            except DuplicateKeyError:
                pass  # Another writer catching up created it first; fall through to $set.
            else:
                return
        update = {f"e.{version}": entry for version, entry in entries.items()}
        upsert(self.collection, doc_id, {"$set": {"o": originator_id, **update}})

    def _write_head(
        self, sid: str, originator_id: UUID | str, entries: dict[str, Any], listed: list[int], *, insert: bool
    ) -> None:
        doc_id = docs.page_id(sid, 0)
        if insert:
            try:
                self.collection.insert_one({"_id": doc_id, "o": originator_id, "e": entries, "p": listed})
            except DuplicateKeyError:
                pass
            else:
                return
        update: dict[str, Any] = {
            "$set": {"o": originator_id, **{f"e.{version}": entry for version, entry in entries.items()}},
            "$addToSet": {"p": {"$each": listed}},
        }
        if not entries:
            # A head created only to list later pages still gets the fields every page has.
            update["$setOnInsert"] = {"e": {}}
        upsert(self.collection, doc_id, update)

    # ----------------------------------------------------------------- reading

    def select(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None,
        lte: int | None,
        desc: bool,
        limit: int | None,
    ) -> list[StoredEvent]:
        if limit is not None and limit <= 0:
            return []
        sid = docs.stream_id(originator_id)
        head = self._read(sid, 0)
        if head is None:
            return []
        assert head.listed is not None

        def wanted(version: int) -> bool:
            return (gt is None or version > gt) and (lte is None or version <= lte)

        lowest = None if gt is None else docs.page_number(gt + 1)
        highest = None if lte is None else docs.page_number(lte)
        # Only the pages listed in this read of the head: see the module docstring.
        pages = [p for p in head.listed if (lowest is None or p >= lowest) and (highest is None or p <= highest)]
        found: list[StoredEvent] = []
        for page in sorted(pages, reverse=desc):
            recorded = head if page == 0 else self._read_listed(sid, page)
            found.extend(recorded.events[v] for v in sorted(recorded.events, reverse=desc) if wanted(v))
            if limit is not None and len(found) >= limit:
                return found[:limit]
        return found

    def _read(self, sid: str, page: int) -> docs.Page | None:
        doc_id = docs.page_id(sid, page)
        doc = self.collection.find_one({"_id": doc_id})
        return None if doc is None else docs.decode_page(self.name, doc, sid, page)

    def _read_listed(self, sid: str, page: int) -> docs.Page:
        recorded = self._read(sid, page)
        if recorded is None:
            # Pages are listed only after they are written and are never deleted.
            raise CorruptDocumentError(self.name, docs.page_id(sid, 0), f"lists page {page}, which is missing")
        return recorded


def upsert(collection: Collection[Document], doc_id: str, update: dict[str, Any]) -> None:
    try:
        collection.update_one({"_id": doc_id}, update, upsert=True)
    except DuplicateKeyError:
        # Two upserts raced to insert the document; now that it exists, update it.
        collection.update_one({"_id": doc_id}, update)


def upsert_all(collection: Collection[Document], writes: Sequence[Upsert]) -> None:
    """Upserts in order, in as few `update` commands as FerretDB can take (`update_batches`). Sent as the raw
    command: FerretDB's reply lacks `nModified` when an upsert inserts, which pymongo's `bulk_write` cannot merge
    (KeyError).

    Two writers upserting one new `_id` at once: FerretDB fails the loser with E11000 instead of retrying it as
    an update. The command is ordered, so everything before the failed write is applied; the document it lost
    the race for now exists, so sending the rest again always gets further (documents here are never deleted)."""
    with multi_update_gate(collection.database.name):
        for batch in update_batches(writes):
            start = 0
            while start < len(batch):
                failed = _send_upserts(collection, batch[start:])
                if failed is None:
                    break
                start += failed


_Statement = TypeVar("_Statement")
UPDATES_PER_COMMAND = 16
"""FerretDB v1 (SQLite) keeps, until an `update` command ends, one pooled SQLite connection open for each of its
statements that matched a document (its per-statement query is closed only when the command returns), and it
needs one more to write each. Its pool has 100 connections per database: once the statements in flight on a
database hold them all, every command waits for a connection that none will release, and the database stops
answering for good (reads too) until FerretDB restarts. Reproduced: one command of 150 upserts of existing
documents wedges it; 99 do not. So a command carries at most 16 statements, and `multi_update_gate` lets one
command at a time per database leave a process: six writer processes on one database stay under the limit."""


def update_batches(statements: Sequence[_Statement]) -> list[Sequence[_Statement]]:
    return [statements[i : i + UPDATES_PER_COMMAND] for i in range(0, len(statements), UPDATES_PER_COMMAND)]


_gates: dict[str, threading.Lock] = {}
_gates_lock = threading.Lock()


def multi_update_gate(database: str) -> threading.Lock:
    """One multi-document `update` command at a time per database, from this process (see
    `UPDATES_PER_COMMAND` for why FerretDB needs it: the statements in flight on a database must stay under its
    connection pool). Several logs and read models of a service share a database, so their writes take turns
    here; replicas of a service are separate processes, so a database sees at most one command per replica."""
    with _gates_lock:
        return _gates.setdefault(database, threading.Lock())


def _send_upserts(collection: Collection[Document], writes: Sequence[Upsert]) -> int | None:
    """Index of the write that lost an insert race, or None when all were applied."""
    updates = [{"q": {"_id": doc_id}, "u": update, "upsert": True} for doc_id, update in writes]
    command: dict[str, Any] = {"update": collection.name, "updates": updates, "ordered": True}
    concern = collection.write_concern.document
    if concern:
        command["writeConcern"] = concern
    reply = collection.database.command(command, codec_options=collection.codec_options)
    errors = reply.get("writeErrors") or []
    if not errors:
        return None
    first = errors[0]
    if first.get("code") == 11000:
        return int(first.get("index", 0))
    raise WriteError(str(first.get("errmsg")), first.get("code"), first)
