"""The paged stream projection: long and sparse streams, conflicts in old and current pages,
concurrent writers, catch-up across pages; the library's POPO recorder is the reference."""

from __future__ import annotations

import itertools
from threading import Barrier, Lock, Thread
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.popo import POPOAggregateRecorder

from shared.eventstore import CorruptDocumentError, MongoApplicationRecorder
from shared.eventstore import documents as docs
from shared.eventstore.datastore import MongoDatastore, MongoSettings
from shared.eventstore.streams import StreamPages
from tests.integration.eventstore_fixtures import MONGODB_URL, FreshDatabase

P = docs.PAGE_SIZE


def event(originator_id: UUID | str, version: int, state: bytes = b"{}") -> StoredEvent:
    return StoredEvent(originator_id=originator_id, originator_version=version, topic="t", state=state)


def versions(events: object) -> list[int]:
    assert isinstance(events, list)
    return [e.originator_version for e in events]


class CountingReads:
    """Counts the page documents a recorder reads, to check how many pages a query touches."""

    def __init__(self, pages: StreamPages) -> None:
        self.count = 0
        original = pages._read

        def counted(sid: str, page: int) -> docs.Page | None:
            self.count += 1
            return original(sid, page)

        pages._read = counted  # type: ignore[method-assign]


class PagedStreamCase(FreshDatabase):
    def setUp(self) -> None:
        super().setUp()
        self.store = self.datastore()
        self.recorder = MongoApplicationRecorder(self.store, "stored_events")
        self.recorder.create_table()
        self.reference = POPOAggregateRecorder()

    def insert(self, events: list[StoredEvent]) -> None:
        self.recorder.insert_events(events)
        self.reference.insert_events(events)

    def assert_same_as_reference(self, originator_id: UUID | str, bounds: list[int | None]) -> None:
        for gt, lte, desc, limit in itertools.product(bounds, bounds, (False, True), (None, 1, 10, P, P + 1)):
            expected = self.reference.select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
            actual = self.recorder.select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
            assert actual == expected, f"gt={gt} lte={lte} desc={desc} limit={limit}"


class TestLongAndSparseStreams(PagedStreamCase):
    def test_stream_of_several_pages_reads_like_the_popo_recorder(self) -> None:
        originator_id = uuid4()
        # Commit sizes chosen so that commits start, end and straddle page boundaries.
        start = 1
        for size in (1, 7, 55, 1, P, P + 1, 2, 3 * P, 20):
            self.insert([event(originator_id, v, f"state {v}".encode()) for v in range(start, start + size)])
            start += size
        last = start - 1
        assert last > 5 * P
        assert versions(self.recorder.select_events(originator_id)) == list(range(1, last + 1))
        bounds: list[int | None] = [None, 0, 1, P - 1, P, 2 * P + 5, last - 10, last, last + 50]
        self.assert_same_as_reference(originator_id, bounds)

    def test_sparse_text_stream_like_snapshots_reads_like_the_popo_recorder(self) -> None:
        originator_id = "stock-" + str(uuid4())
        for v in (5, 100, 1_000, 1_001, 5_000, 5_063, 5_064):
            self.insert([event(originator_id, v, f"snapshot {v}".encode())])
        bounds: list[int | None] = [None, 0, 5, 99, 1_000, 1_001, 4_999, 5_063, 6_000]
        self.assert_same_as_reference(originator_id, bounds)

    def test_reading_after_a_snapshot_and_the_newest_snapshot_touch_few_pages(self) -> None:
        originator_id = uuid4()
        for start in range(1, 20 * P, 2 * P):
            self.insert([event(originator_id, v) for v in range(start, start + 2 * P)])
        reads = CountingReads(self.recorder.log.streams)
        assert versions(self.recorder.select_events(originator_id, gt=20 * P - 10)) == list(
            range(20 * P - 9, 20 * P + 1)
        )
        assert reads.count <= 2  # the head and the last page
        reads.count = 0
        assert versions(self.recorder.select_events(originator_id, desc=True, limit=1)) == [20 * P]
        assert reads.count <= 2
        reads.count = 0
        assert versions(self.recorder.select_events(originator_id, lte=10 * P, desc=True, limit=1)) == [10 * P]
        assert reads.count <= 2


class TestConflicts(PagedStreamCase):
    def setUp(self) -> None:
        super().setUp()
        self.originator_id = uuid4()
        self.last = 3 * P + 10
        self.insert([event(self.originator_id, v) for v in range(1, self.last + 1)])

    def test_conflict_on_a_version_in_an_old_page(self) -> None:
        for v in (1, P - 1, P, 2 * P + 3):
            with pytest.raises(IntegrityError):
                self.recorder.insert_events([event(self.originator_id, v)])

    def test_conflict_on_a_version_in_the_current_page(self) -> None:
        with pytest.raises(IntegrityError):
            self.recorder.insert_events([event(self.originator_id, self.last)])
        # A batch that is new in the current page but conflicts in an old one is refused whole.
        with pytest.raises(IntegrityError):
            self.recorder.insert_events([event(self.originator_id, self.last + 1), event(self.originator_id, 7)])
        assert self.recorder.max_notification_id() == self.last
        self.recorder.insert_events([event(self.originator_id, self.last + 1)])
        assert versions(self.recorder.select_events(self.originator_id, gt=self.last - 1)) == [
            self.last,
            self.last + 1,
        ]


class TestConcurrentWriters(FreshDatabase):
    def test_threads_appending_to_one_long_stream_get_one_winner_per_version(self) -> None:
        writers = 4
        stores = [MongoDatastore(MongoSettings(url=MONGODB_URL, database=self.database_name)) for _ in range(writers)]
        recorders = [MongoApplicationRecorder(s, "stored_events") for s in stores]
        originator_id = uuid4()
        prefill, target = 2 * P - 6, 3 * P + 6  # the race crosses two page boundaries
        recorders[0].insert_events([event(originator_id, v) for v in range(1, prefill + 1)])
        wins: dict[int, list[int]] = {}
        lock = Lock()
        barrier = Barrier(writers)

        def write(index: int) -> None:
            recorder = recorders[index]
            barrier.wait()
            while True:
                newest = recorder.select_events(originator_id, desc=True, limit=1)[0].originator_version
                if newest >= target:
                    return
                try:
                    recorder.insert_events([event(originator_id, newest + 1, f"writer {index}".encode())])
                except IntegrityError:
                    continue
                with lock:
                    wins.setdefault(newest + 1, []).append(index)

        threads = [Thread(target=write, args=(i,)) for i in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(wins) == list(range(prefill + 1, target + 1))
        assert all(len(winners) == 1 for winners in wins.values()), wins
        stream = recorders[0].select_events(originator_id)
        assert versions(stream) == list(range(1, target + 1))
        for e in stream[prefill:]:
            assert e.state == f"writer {wins[e.originator_version][0]}".encode()
        # The log agrees: every version exactly once.
        logged = [n.originator_version for n in recorders[0].select_notifications(1, 10_000)]
        assert sorted(logged) == list(range(1, target + 1))
        for store in stores:
            store.close()


class TestCatchUpAndCorruption(PagedStreamCase):
    def test_unprojected_commit_opening_a_new_page_blocks_its_versions_and_is_caught_up(self) -> None:
        originator_id = uuid4()
        self.insert([event(originator_id, v) for v in range(1, P)])
        # A writer that inserted commit 2 (versions P and P + 1, a new page) and died before projecting it.
        position = docs.CommitPosition(2, P, P + 1)
        self.store.database["stored_events"].insert_one(
            docs.encode_commit(position, (event(originator_id, P), event(originator_id, P + 1)), None)
        )
        other = MongoApplicationRecorder(self.datastore(), "stored_events")
        with pytest.raises(IntegrityError):
            other.insert_events([event(originator_id, P + 1)])
        other.insert_events([event(originator_id, P + 2)])
        assert versions(self.recorder.select_events(originator_id)) == list(range(1, P + 3))
        assert versions(self.recorder.select_events(originator_id, desc=True, limit=2)) == [P + 2, P + 1]

    def test_head_listing_a_missing_page_is_reported(self) -> None:
        originator_id = uuid4()
        self.insert([event(originator_id, v) for v in range(1, P + 2)])
        sid = docs.stream_id(originator_id)
        self.store.database["stored_events_streams"].delete_one({"_id": docs.page_id(sid, 1)})
        with pytest.raises(CorruptDocumentError) as raised:
            self.recorder.select_events(originator_id)
        assert "stored_events_streams" in str(raised.value)
        assert docs.page_id(sid, 0) in str(raised.value)

    def test_event_filed_in_the_wrong_page_is_reported(self) -> None:
        originator_id = uuid4()
        self.insert([event(originator_id, 1)])
        sid = docs.stream_id(originator_id)
        self.store.database["stored_events_streams"].update_one(
            {"_id": docs.page_id(sid, 0)}, {"$set": {f"e.{P + 1}": {"t": "t", "s": b"{}"}}}
        )
        with pytest.raises(CorruptDocumentError, match="does not belong in page 0"):
            self.recorder.select_events(originator_id)
