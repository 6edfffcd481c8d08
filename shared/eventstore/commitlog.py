"""The commit log: one document per insert_events() call, serialised by its `_id`.

A writer appends commit ``h + 1`` only after it has seen commit ``h``; a duplicate-key
error on ``_id`` means another writer appended first, so it refreshes and retries.  The
unique ``_id`` index is therefore the single serialisation point for every check
(versions, tracking) without multi-document transactions, which FerretDB v1 lacks.

Per-stream lookups are served by a projection (pages of versions per originator, see
streams.py) that writers bring up to date, idempotently, before checking versions against
it.  The ``@projected`` watermark says how far the projection is known to be complete.
"""

from __future__ import annotations

import logging
import random
import time
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Sequence
from threading import Lock, RLock
from uuid import UUID

from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent, Tracking
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.eventstore import documents as docs
from shared.eventstore.datastore import Document
from shared.eventstore.errors import DocumentSizeError, translated_driver_errors
from shared.eventstore.stream_filter import DEFAULT_BITS, FILTER_ID, StreamFilter
from shared.eventstore.streams import StreamPages, Upsert, upsert, upsert_all

log = logging.getLogger(__name__)

_MAX_APPEND_ATTEMPTS = 10_000
_KNOWN_POSITIONS_LIMIT = 100_000
CHECKPOINT_EVERY_S = 5.0
"""How often the owner of a log stores its checkpoint: the `@projected` watermark and the `@tracking:` positions.
Its commits carry both already, and the next owner, finding the watermark behind the head, projects what follows
(commits, then their trackings), so the stored copy may lag; writing them with every commit was two of the three
documents FerretDB updated per commit (each its own SQLite transaction). The owner's stream pages go with the
checkpoint too (`defer_projection`): an aggregate's page is then rewritten once per checkpoint, not once per commit
that touched it. An order's messages span a few seconds (placed, reserved, requested, shipped, delivered), so an
interval of 1 s, or a checkpoint whenever a log was idle for a second, wrote its pages once per message; 5 s
writes most of them once or twice. What waits is read from the commits meanwhile (readers elsewhere, a next owner
after a crash: at most the last 5 s of commits to project)."""
# Commits projected in one ordered bulk write when catching up.
CATCH_UP_COMMITS = 64


class _KnownPositions:
    """Commit positions seen so far, to narrow the search for a notification id."""

    def __init__(self) -> None:
        self.numbers: list[int] = []
        self.lasts: list[int] = []

    def add(self, position: docs.CommitPosition) -> None:
        i = bisect_left(self.numbers, position.number)
        if i < len(self.numbers) and self.numbers[i] == position.number:
            return
        if len(self.numbers) >= _KNOWN_POSITIONS_LIMIT:
            # Keep the head: sequential readers and writers work near it.
            del self.numbers[: _KNOWN_POSITIONS_LIMIT // 2], self.lasts[: _KNOWN_POSITIONS_LIMIT // 2]
            i = bisect_left(self.numbers, position.number)
        self.numbers.insert(i, position.number)
        self.lasts.insert(i, position.last)

    def bounds(self, notification_id: int, head: int) -> tuple[int, int]:
        """Commit numbers (lo, hi): lo's last < notification_id <= hi's last."""
        i = bisect_left(self.lasts, notification_id)
        lo = self.numbers[i - 1] if i > 0 else 0
        hi = self.numbers[i] if i < len(self.numbers) else head
        return lo, hi


class PendingVersions:
    """Versions a log's owner committed whose stream pages wait for its next checkpoint, by stream. Shared by the
    process's readers of the log (shared/runtime.py), so that what this process published it also serves."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._by_stream: dict[str, dict[int, StoredEvent]] = {}
        # True while this process owns the log: it then knows every commit whose pages are not stored (its own;
        # others' collide with its fence and are projected when taken in), and it alone writes the log's pages.
        # Otherwise another process may own it.
        self.deferring = False

    def add(self, events: Sequence[StoredEvent]) -> None:
        with self._lock:
            for event in events:
                self._by_stream.setdefault(docs.stream_id(event.originator_id), {})[event.originator_version] = event

    def events(self) -> list[StoredEvent]:
        with self._lock:
            return [event for versions in self._by_stream.values() for event in versions.values()]

    def of(self, originator_id: UUID | str) -> dict[int, StoredEvent]:
        with self._lock:
            return dict(self._by_stream.get(docs.stream_id(originator_id), {}))

    def forget(self, writes: Sequence[Upsert]) -> None:
        """Drop the versions these (stored) page writes carried; ones committed meanwhile stay."""
        with self._lock:
            if not self._by_stream:
                return
            for _id, update in writes:
                sid, _, _page = _id.rpartition("#")
                versions = self._by_stream.get(sid)
                if versions is None:
                    continue
                for key in update.get("$set", {}):
                    if key.startswith("e."):
                        versions.pop(int(key[2:]), None)
                if not versions:
                    del self._by_stream[sid]


class LogMoved(OperationalError):
    """Someone else appended to a log this writer believed it owned: its view of the log is stale."""


class CommitLog:
    def __init__(self, database: Database[Document], log_name: str, *, owned: bool = False) -> None:
        """`owned`: a log that an owner writes with `append_owned` (an application's event log, not its snapshots):
        its pages may wait for that owner's checkpoint, so a reader in another process reads the commits after the
        stored watermark too."""
        self.log_name = log_name
        self.owned = owned
        self.streams_name = log_name + "_streams"
        self.commits: Collection[Document] = database[log_name]
        self.streams_collection: Collection[Document] = database[self.streams_name]
        self.streams = StreamPages(self.streams_collection, self.streams_name)
        # Tracking positions recorded through this log are projected into the streams collection
        # (`@tracking:<name>`), so that any recorder catching up the log can project them in one write.
        self.tracking_name = self.streams_name
        self.tracking: Collection[Document] = self.streams_collection
        self._lock = Lock()
        # Held by whatever writes to the store in this process (appends, checkpoints, projection): FerretDB runs an
        # update as a read and a separate write, so two writers of one page at once can lose each other's versions.
        self._append_lock = RLock()
        # A reader serving queries (shared/runtime.py): it also reads the commits after the stored watermark,
        # which hold what another process wrote and this process's owner has not taken in yet.
        self.serves_queries = False
        self._head = docs.CommitPosition(0, 1, 0)
        self._head_discovered = False
        # The owner's fence: the last commit its cached state includes (its own appends, the commits it took in).
        # Not `_head`, which any read (a relay catching up, a backlog gauge) moves to the newest commit stored:
        # appending after a head that a read discovered would pass over another writer's commit unseen, and
        # write aggregate versions that commit already holds (found by a two-replica chaos run: one StockItem's
        # versions 77-80 in two commits, allocated above on hand). None until the owner takes the log in.
        self._fence: docs.CommitPosition | None = None
        self._projected_upto = 0
        self._known = _KnownPositions()
        # The owner's checkpoint not stored yet: tracking name → position, and the watermark (0: none pending).
        self._unsaved_trackings: dict[str, int] = {}
        self._unsaved_watermark = 0
        self._checkpointed_at = time.monotonic()
        # Set by the owner while it owns the log (shared/messaging): its commits' stream pages wait for the next
        # checkpoint, so that a page several commits touch within a second is written once. FerretDB rewrites a
        # whole document per update (measured: 2.6 ms for a page of one event, 5.2 ms for 16, 12.8 ms for 64), and
        # an order's messages mostly come within a second of each other. Until then this process reads them from
        # `pending` (select_events), other processes add the versions in the commits after the stored watermark,
        # and the next owner projects those commits when it takes the log over.
        self.pending = PendingVersions()
        self._after_watermark = UnstoredVersions()
        self._index_lock = Lock()
        # The streams of the commits up to `_filter_upto`, kept by the owner (stream_filter.py): a stream not in it
        # is new, and the owner does not read to find that out. Bits of a new filter; 0: none (STREAM_FILTER_BITS).
        self.filter_bits = DEFAULT_BITS
        self._filter: StreamFilter | None = None
        self._filter_upto = 0

    # ----------------------------------------------------------------- writing

    def append(self, events: Sequence[StoredEvent], tracking: Tracking | None) -> docs.Commit:
        self._check_batch(events)
        # Appends are serial by design; queueing this process's writers here avoids them
        # all racing for the same commit number and redoing each other's catch-up work.
        with self._append_lock, translated_driver_errors():
            if not self._head_discovered:
                self.refresh_head()
            self._store(self._page_writes())  # the version check below reads pages: ours must be there
            for _ in range(_MAX_APPEND_ATTEMPTS):
                head = self._head
                self.ensure_projected(head.number)
                existing_pages = self.streams.check(events)
                if tracking is not None:
                    self._check_tracking(tracking)
                position = docs.CommitPosition(head.number + 1, head.last + 1, head.last + len(events))
                commit = docs.Commit(position, tuple(events), tracking)
                try:
                    self.commits.insert_one(docs.encode_commit(position, commit.events, tracking))
                except DuplicateKeyError:
                    # Someone else appended this number: not a conflict of ours (yet).
                    self.refresh_head()
                    time.sleep(random.uniform(0, 0.002))
                    continue
                self._note(position)
                self._project(commit, existing_pages)
                self._advance_projected(position.number)
                return commit
        msg = f"Gave up appending to '{self.log_name}' after {_MAX_APPEND_ATTEMPTS} contended attempts"
        raise OperationalError(msg)

    def append_owned(
        self, events: Sequence[StoredEvent], trackings: Sequence[Tracking], consumed: Sequence[str]
    ) -> docs.Commit:
        """The single writer's append: two round trips (the commit, then one ordered bulk write projecting it).

        The writer that owns the log (shared/messaging) keeps its aggregates in memory, so nothing is read and no
        version is checked here: the unique commit number is the fence. If anyone else appended since this writer
        last looked, the insert collides and `LogMoved` tells the owner to reload what it holds.
        """
        self._check_batch(events)
        with self._append_lock, translated_driver_errors():
            head = self._fence
            if head is None:
                # Nothing says what this writer's cache includes: it must take the log in first (the owner does
                # on assignment; an HTTP command on another process when this sends it to `_absorb_others`).
                msg = f"'{self.log_name}': this writer has not taken the log in"
                raise LogMoved(msg)
            self.catch_up(head.number)
            position = docs.CommitPosition(head.number + 1, head.last + 1, head.last + len(events))
            commit = docs.Commit(position, tuple(events), None, tuple(trackings), tuple(consumed))
            try:
                self.commits.insert_one(
                    docs.encode_commit(position, commit.events, None, commit.trackings, commit.consumed)
                )
            except DuplicateKeyError:
                self.refresh_head()
                msg = f"'{self.log_name}' has commits after {head.number} that this writer did not make"
                raise LogMoved(msg) from None
            self._note(position)
            self._fence = position
            if self.projects:
                due = time.monotonic() - self._checkpointed_at >= CHECKPOINT_EVERY_S
                try:
                    self._project_bulk(commit, checkpoint=due, defer=self.defer_projection and not due)
                except PyMongoError as error:
                    # The commit is stored: failing the append now would make the caller run the batch again on
                    # state that lacks it and write its versions twice (a chaos run lost a backorder this way when
                    # the store restarted between the insert and the checkpoint). Its pages stay pending, and the
                    # watermark unraised, until the next write stores them; readers find it in the commits.
                    log.warning("'%s': commit %d stored, not yet projected: %s", self.log_name, position.number, error)
                    self._advance_projected(position.number, publish=False)
            # Else the owner projects it when it takes it in; until then readers find it after the watermark.
            return commit

    def checkpoint(self, *, due_only: bool = False) -> None:
        """Store the owner's checkpoint now, with the pages it deferred (before letting the log go); `due_only`
        (idle): only once CHECKPOINT_EVERY_S has passed since the last one."""
        if due_only and time.monotonic() - self._checkpointed_at < CHECKPOINT_EVERY_S:
            return
        with self._append_lock, translated_driver_errors():
            self._store(self._writes(checkpoint=True))

    @property
    def defer_projection(self) -> bool:
        return self.pending.deferring

    @defer_projection.setter
    def defer_projection(self, value: bool) -> None:
        self.pending.deferring = value

    @property
    def projects(self) -> bool:
        """Whether this process writes the log's stream pages: an owned log's only while it owns it (one writer of
        the pages: see `_append_lock`); a log without an owner (snapshots) by whoever appends."""
        return not self.owned or self.pending.deferring

    def catch_up(self, upto: int) -> None:
        """Project the commits up to `upto` if this process projects the log (`projects`); else nothing to do:
        its reads add the versions in the commits after the stored watermark."""
        if self.projects:
            self.ensure_projected(upto)

    @property
    def fence(self) -> docs.CommitPosition | None:
        """The last commit the owner's state includes (see `__init__`)."""
        return self._fence

    def take_in(self, position: docs.CommitPosition) -> None:
        """The writer's state now includes every commit up to `position` (it loaded or absorbed them). The owner
        projects them first, so that what it reads next comes from pages; any other writer reads them from the
        commits (`select_events`), as the owner's pages may still wait for its checkpoint."""
        with translated_driver_errors():
            self.catch_up(position.number)
            if self._keeps_streams():
                with self._append_lock:
                    self._cover_streams(position.number)
        self._fence = position

    def confirm_fence(self) -> None:
        """Raises LogMoved if anyone appended after the fence (one round trip): for a decision that cannot wait for
        the commit's collision to be taken back, such as sending a record to the DLQ."""
        fence = self._fence
        if fence is None:
            return
        with translated_driver_errors():
            if self._read_position(fence.number + 1) is not None:
                msg = f"'{self.log_name}' has commits after {fence.number} that this writer did not make"
                raise LogMoved(msg)

    def commits_after(self, number: int) -> list[docs.Commit]:
        """Every commit after `number` up to the head (what another writer appended, or a relay's backlog)."""
        found = []
        with translated_driver_errors():
            self.refresh_head()
            for n in range(number + 1, self._head.number + 1):
                commit = self.read_commit(n)
                if commit is None:
                    break
                found.append(commit)
        return found

    def _project_bulk(self, commit: docs.Commit, *, checkpoint: bool = True, defer: bool = False) -> None:
        """One ordered bulk write: the stream pages of this commit and of any before it still pending, then (now,
        or at a later checkpoint) the trackings and the watermark — last, so that a stored watermark always covers
        stored pages and trackings. `defer`: the pages too wait for the checkpoint (see `defer_projection`)."""
        self.pending.add(commit.events)  # before the watermark is raised: see `_writes`
        self._add_streams(commit)
        with self._lock:
            for tracking in (*commit.trackings, *([commit.tracking] if commit.tracking else [])):
                name = tracking.application_name
                self._unsaved_trackings[name] = max(self._unsaved_trackings.get(name, 0), tracking.notification_id)
            self._unsaved_watermark = max(self._unsaved_watermark, commit.position.number)
        if not defer:
            self._store(self._writes(checkpoint=checkpoint))
        self._advance_projected(commit.position.number, publish=False)

    def _page_writes(self) -> list[Upsert]:
        return self._writes(checkpoint=False)

    def _writes(self, *, checkpoint: bool) -> list[Upsert]:
        """The upserts projecting every pending event (several commits' events of one page in one write), then, with
        `checkpoint`, the unsaved trackings and watermark. The pending events are read after the watermark, and a
        commit's events are pending before its watermark is raised: a commit whose watermark is included has its
        pages included too."""
        with self._lock:
            trackings = sorted(self._unsaved_trackings.items()) if checkpoint else []
            watermark = self._unsaved_watermark if checkpoint else 0
        writes = self.streams.projection_writes(self.pending.events())
        streams = self._filter
        if checkpoint and streams is not None and streams.dirty:
            # Before the watermark: a next owner that finds the watermark finds a filter at least as recent.
            writes.append((FILTER_ID, streams.to_update(self._filter_upto)))
        writes += [(docs.TRACKING_PREFIX + name, {"$max": {"n": n}}) for name, n in trackings]
        if watermark:
            writes.append((docs.WATERMARK_ID, {"$max": {"n": watermark}}))
        return writes

    def _store(self, writes: list[Upsert]) -> None:
        if not writes:
            return
        upsert_all(self.streams_collection, writes)  # two writers catching up one commit may race: it resumes
        self.pending.forget(writes)
        streams = self._filter
        stored_filter = next((update for _id, update in writes if _id == FILTER_ID), None)
        if streams is not None and stored_filter is not None and stored_filter["$set"]["upto"] == self._filter_upto:
            streams.dirty = False  # (writes and additions both happen under `_append_lock`)
        stored = {_id: update["$max"]["n"] for _id, update in writes if _id.startswith(docs.TRACKING_PREFIX)}
        watermark = next((update["$max"]["n"] for _id, update in writes if _id == docs.WATERMARK_ID), None)
        if watermark is None:
            return
        with self._lock:  # forget only what is stored (a later commit may have raised it meanwhile)
            for _id, n in stored.items():
                name = _id.removeprefix(docs.TRACKING_PREFIX)
                if self._unsaved_trackings.get(name) == n:
                    del self._unsaved_trackings[name]
            if self._unsaved_watermark == watermark:
                self._unsaved_watermark = 0
            self._checkpointed_at = time.monotonic()

    def _check_batch(self, events: Sequence[StoredEvent]) -> None:
        keys = {(docs.stream_id(e.originator_id), e.originator_version) for e in events}
        if len(keys) < len(events):
            msg = f"Stored events are not unique within the batch: {events}"
            raise IntegrityError(msg)
        size = sum(docs.event_size(e) for e in events)
        if size > docs.MAX_DOCUMENT_BYTES:
            msg = (
                f"Commit of {len(events)} events (~{size} bytes) to '{self.log_name}' exceeds the "
                f"16 MiB document limit; save fewer or smaller events per call"
            )
            raise DocumentSizeError(msg)

    def _check_tracking(self, tracking: Tracking) -> None:
        current = self.max_tracking_id(tracking.application_name)
        if current is not None and current >= tracking.notification_id:
            msg = (
                f"Tracking notification ID {tracking.notification_id} for "
                f"'{tracking.application_name}' not greater than current max {current}"
            )
            raise IntegrityError(msg)

    # -------------------------------------------------------------- projection

    def ensure_projected(self, upto: int) -> None:
        """Makes the stream and tracking projections complete up to commit `upto`."""
        if self._projected_upto >= upto:
            return
        with self._append_lock:
            self._ensure_projected(upto)

    def _ensure_projected(self, upto: int) -> None:
        watermark = self.streams_collection.find_one({"_id": docs.WATERMARK_ID})
        stored = 0 if watermark is None else docs.decode_counter(self.streams_name, watermark)
        if self._keeps_streams():
            self._cover_streams(max(stored, self._projected_upto))  # the commits below are not projected here
        if watermark is not None:
            self._advance_projected(stored, publish=False)
        # Commits taken in together are projected together: a page several of them touched is written once. A
        # next owner after a kill -9 has up to a second of batches to project; commit by commit, the same pages
        # were rewritten for each (the chaos run: a shipping load of 44 s, past the group's session timeout).
        for number in range(self._projected_upto + 1, upto + 1):
            commit = self.read_commit(number)
            if commit is None:
                msg = f"Commit {docs.commit_id(number)} missing from '{self.log_name}' below its head"
                raise OperationalError(msg)
            self._project_bulk(commit, defer=True)
            if number % CATCH_UP_COMMITS == 0 or number == upto:
                self._store(self._writes(checkpoint=True))  # pages, then trackings, then the watermark

    def _project(self, commit: docs.Commit, existing_pages: set[str]) -> None:
        """Idempotent: re-applying a commit sets the same fields to the same values."""
        self.streams.project(commit.events, existing_pages)
        for tracking in (*commit.trackings, *([commit.tracking] if commit.tracking else [])):
            self._raise_tracking(tracking)

    def _raise_tracking(self, tracking: Tracking) -> None:
        upsert(
            self.tracking, docs.TRACKING_PREFIX + tracking.application_name, {"$max": {"n": tracking.notification_id}}
        )

    def _advance_projected(self, number: int, *, publish: bool = True) -> None:
        with self._lock:
            if number <= self._projected_upto:
                return
            self._projected_upto = number
        if publish:
            self._store(self._page_writes())  # a stored watermark covers stored pages only
            upsert(self.streams_collection, docs.WATERMARK_ID, {"$max": {"n": number}})

    # ----------------------------------------------------------- stream filter

    def _keeps_streams(self) -> bool:
        """Whether this process keeps the log's stream filter: only its owner sees every commit."""
        return self.owned and self.filter_bits > 0 and self.pending.deferring and not self.serves_queries

    def _known_absent(self, originator_id: UUID | str) -> bool:
        """The stream is in no commit up to the fence. A commit after it (another process's) would collide with
        the owner's next one, which then takes it in: the same rule that lets the owner trust its cache."""
        streams, fence = self._filter, self._fence
        return (
            streams is not None
            and fence is not None
            and self._filter_upto >= fence.number
            and self._keeps_streams()
            and docs.stream_id(originator_id) not in streams
        )

    def _add_streams(self, commit: docs.Commit) -> None:
        """Commits are added in order, so that `_filter_upto` means every commit up to it. One that would leave a
        gap is not added: the filter then stays behind the fence, unused, until the owner covers it again."""
        streams = self._filter
        if streams is None or commit.position.number != self._filter_upto + 1:
            return
        for event in commit.events:
            streams.add(docs.stream_id(event.originator_id))
        self._filter_upto = commit.position.number
        # Stored again at the next checkpoint even if no bit changed: a stored `upto` that lags is commits a next
        # owner reads one by one.
        streams.dirty = True

    def _cover_streams(self, upto: int) -> None:
        """Make the filter cover every commit up to `upto`: the stored one (if newer than what this process
        kept), else one built from the stored pages; then the streams of the commits after it."""
        if self._filter is not None and self._filter_upto >= upto:
            return
        stored = self._stored_filter()
        if stored is not None and (self._filter is None or stored[1] > self._filter_upto):
            self._filter, self._filter_upto = stored
        if self._filter is None:
            self._filter, self._filter_upto = self._filter_from_pages()
        for number in range(self._filter_upto + 1, upto + 1):
            commit = self.read_commit(number)
            if commit is None:
                msg = f"Commit {docs.commit_id(number)} missing from '{self.log_name}' below its head"
                raise OperationalError(msg)
            self._add_streams(commit)

    def _stored_filter(self) -> tuple[StreamFilter, int] | None:
        document = self.streams_collection.find_one({"_id": FILTER_ID})
        if document is None:
            return None
        try:
            return StreamFilter.from_document(document)
        except (KeyError, TypeError, ValueError) as error:
            # Derived data: the pages and the commits say the same, at the cost of reading them.
            log.warning("'%s': stream filter unreadable (%s); building it from the pages", self.streams_name, error)
            return None

    def _filter_from_pages(self) -> tuple[StreamFilter, int]:
        """Every stream with a stored page, which covers the commits up to the stored watermark (pages are stored
        before it): a log written before the filter existed, or whose owner never stored one."""
        watermark = self.streams_collection.find_one({"_id": docs.WATERMARK_ID})
        upto = 0 if watermark is None else docs.decode_counter(self.streams_name, watermark)
        streams = StreamFilter(self.filter_bits)
        for document in self.streams_collection.find({}, {"_id": 1}):
            page = document["_id"]
            if isinstance(page, str) and not page.startswith("@"):
                streams.add(page.rpartition("#")[0])
        streams.dirty = True
        return streams, upto

    # ---------------------------------------------------------------- reading

    def read_commit(self, number: int) -> docs.Commit | None:
        doc = self.commits.find_one({"_id": docs.commit_id(number)})
        if doc is None:
            return None
        commit = docs.decode_commit(self.log_name, number, doc)
        self._note(commit.position)
        return commit

    def _read_position(self, number: int) -> docs.CommitPosition | None:
        doc = self.commits.find_one({"_id": docs.commit_id(number)}, {"first": 1, "last": 1})
        if doc is None:
            return None
        position = docs.decode_position(self.log_name, number, doc)
        self._note(position)
        return position

    def _note(self, position: docs.CommitPosition) -> None:
        with self._lock:
            self._known.add(position)
            if position.number > self._head.number:
                self._head = position

    def refresh_head(self) -> docs.CommitPosition:
        """Finds the newest commit: gallop forward from the known head, then bisect."""
        with translated_driver_errors():
            found = self._head.number
            step = 1
            while self._read_position(found + step) is not None:
                found += step
                step *= 2
            missing = found + step
            while missing - found > 1:
                middle = (found + missing) // 2
                if self._read_position(middle) is None:
                    missing = middle
                else:
                    found = middle
            self._head_discovered = True
            return self._head

    def locate(self, notification_id: int) -> int | None:
        """The number of the first commit whose notification ids reach `notification_id`."""
        head = self._head
        if head.last < notification_id:
            head = self.refresh_head()
            if head.last < notification_id:
                return None
        lo, hi = self._known.bounds(notification_id, head.number)
        while hi - lo > 1:
            middle = (lo + hi) // 2
            position = self._read_position(middle)
            if position is None:
                msg = f"Commit {docs.commit_id(middle)} missing from '{self.log_name}' below its head"
                raise OperationalError(msg)
            if position.last < notification_id:
                lo = middle
            else:
                hi = middle
        return hi

    def max_tracking_id(self, application_name: str) -> int | None:
        doc = self.tracking.find_one({"_id": docs.TRACKING_PREFIX + application_name})
        stored = None if doc is None else docs.decode_counter(self.tracking_name, doc)
        with self._lock:
            unsaved = self._unsaved_trackings.get(application_name)
        return max((n for n in (stored, unsaved) if n is not None), default=None)

    @property
    def head(self) -> docs.CommitPosition:
        return self._head

    def select_events(
        self, originator_id: UUID | str, *, gt: int | None, lte: int | None, desc: bool, limit: int | None
    ) -> list[StoredEvent]:
        if self._known_absent(originator_id):
            return []
        with translated_driver_errors():
            # Versions whose pages are not stored yet: this process's own (as owner), or, when another process may
            # own the log, those in its commits after the stored watermark (about a second of them).
            # A query reader also finds, there, what another process wrote and the owner has not taken in yet.
            others = self.serves_queries or not self.pending.deferring
            newer = self._unprojected(originator_id) if self.owned and others else {}
            newer.update(self.pending.of(originator_id))
            if not newer:
                return self.streams.select(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
            stored = self.streams.select(originator_id, gt=gt, lte=lte, desc=desc, limit=None)
        found = {e.originator_version: e for e in stored}
        for version, event in newer.items():
            if (gt is None or version > gt) and (lte is None or version <= lte):
                found[version] = event
        events = [found[v] for v in sorted(found, reverse=desc)]
        return events if limit is None else events[: max(limit, 0)]

    def _unprojected(self, originator_id: UUID | str) -> dict[int, StoredEvent]:
        """The stream's versions in commits after the stored watermark, read from the commits themselves (read in
        this order — watermark, head, commits, then the caller's pages — nothing committed before the head read is
        missed: a watermark is stored only once the pages below it are). Each commit is read and indexed once."""
        doc = self.streams_collection.find_one({"_id": docs.WATERMARK_ID})
        watermark = 0 if doc is None else docs.decode_counter(self.streams_name, doc)
        head = self.refresh_head().number
        # One reader at a time extends the index (the others need the same commits), so that every commit up to
        # `upto` is in it when a read looks.
        with self._index_lock:
            self._after_watermark.forget_upto(watermark)
            for number in range(max(watermark, self._after_watermark.upto) + 1, head + 1):
                commit = self.read_commit(number)
                if commit is None:
                    break
                self._after_watermark.add(commit)  # commits never change
            return self._after_watermark.of(originator_id, watermark)


class UnstoredVersions:
    """The versions in a log's commits after its stored watermark, by stream: what a reader outside the owner's
    process adds to the stored pages. A read is a lookup; it was a scan of every event of every commit after the
    watermark, with only the last 256 commits kept decoded: once an owner that stopped checkpointing (stalled, or
    gone with no successor yet) let the watermark fall 1,000 commits of 500 events behind, each read fetched and
    decoded 744 commits again. Commits at or below the watermark are forgotten as it moves; while nothing moves it,
    the index keeps every commit after it (readers need them)."""

    def __init__(self) -> None:
        self._by_stream: dict[str, dict[int, tuple[int, StoredEvent]]] = {}
        self._streams_of: OrderedDict[int, list[str]] = OrderedDict()
        self.upto = 0  # the newest commit indexed (every one after the watermark up to it is)

    def add(self, commit: docs.Commit) -> None:
        number = commit.position.number
        streams = []
        for event in commit.events:
            stream = docs.stream_id(event.originator_id)
            self._by_stream.setdefault(stream, {})[event.originator_version] = (number, event)
            streams.append(stream)
        self._streams_of[number] = streams
        self.upto = max(self.upto, number)

    def forget_upto(self, watermark: int) -> None:
        while self._streams_of:
            number = next(iter(self._streams_of))
            if number > watermark:
                break
            for stream in self._streams_of.pop(number):
                versions = self._by_stream.get(stream)
                if versions is None:
                    continue
                for version in [v for v, (n, _) in versions.items() if n <= watermark]:
                    del versions[version]
                if not versions:
                    del self._by_stream[stream]

    def of(self, originator_id: UUID | str, watermark: int) -> dict[int, StoredEvent]:
        versions = self._by_stream.get(docs.stream_id(originator_id), {})
        return {version: event for version, (number, event) in versions.items() if number > watermark}
