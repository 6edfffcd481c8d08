"""Properties of the MongoDB event store beyond the library's suite, on a real server."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from decimal import Decimal
from itertools import pairwise
from threading import Barrier, Event, Thread
from typing import Any
from unittest.mock import patch
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, StoredEvent, Tracking
from eventsourcing.tests.application import BankAccounts
from pymongo import MongoClient

from shared.eventstore import CorruptDocumentError, DocumentSizeError, MongoApplicationRecorder, commitlog
from shared.eventstore import documents as docs
from shared.eventstore.datastore import MongoDatastore, MongoSettings
from shared.eventstore.recorders import MongoProcessRecorder, OwnedBatch
from shared.eventstore.streams import upsert_all
from tests.integration.eventstore_fixtures import MONGODB_URL, FreshDatabase


def event(originator_id: UUID, version: int, state: bytes = b"{}") -> StoredEvent:
    return StoredEvent(originator_id=originator_id, originator_version=version, topic="t", state=state)


def open_recorder(database: str) -> tuple[MongoDatastore, MongoApplicationRecorder]:
    # A datastore per writer stands for a separate process: no shared in-process lock or cache.
    datastore = MongoDatastore(MongoSettings(url=MONGODB_URL, database=database))
    return datastore, MongoApplicationRecorder(datastore, "stored_events")


def _write_in_process(database: str, writer: int, commits: int) -> None:
    datastore, recorder = open_recorder(database)
    try:
        for i in range(commits):
            originator_id = uuid4()
            recorder.insert_events([event(originator_id, v) for v in range(1 + (writer + i) % 3)])
    finally:
        datastore.close()


class TestConcurrency(FreshDatabase):
    def test_multi_document_upserts_from_many_threads_all_land(self) -> None:
        """Six writers of one process upserting 40 existing documents each at once would hold FerretDB's whole
        connection pool for the database (`UPDATES_PER_COMMAND`): they take turns, and every write lands."""
        client: MongoClient[dict[str, Any]] = MongoClient(MONGODB_URL, socketTimeoutMS=20_000)
        database = client[self.database_name]
        for k in range(3):
            database.create_collection(f"c{k}")
        threads, rounds, documents = 6, 8, 40
        barrier = Barrier(threads)
        failures: list[BaseException] = []

        def write(thread: int) -> None:
            barrier.wait()
            try:
                for round_ in range(rounds):
                    writes = [(f"doc-{j}", {"$max": {"n": round_}}) for j in range(documents)]
                    upsert_all(database[f"c{thread % 3}"], writes)
            except BaseException as failure:
                failures.append(failure)

        workers = [Thread(target=write, args=(t,)) for t in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)

        assert failures == []
        for k in range(3):
            stored = {d["_id"]: d["n"] for d in database[f"c{k}"].find({})}
            assert stored == {f"doc-{j}": rounds - 1 for j in range(documents)}
        client.close()

    def test_an_upsert_of_hundreds_of_existing_documents_lands(self) -> None:
        """A batch after an outage can touch hundreds of stream documents at once; sent as one command it would
        wedge FerretDB's database for good (a statement that matches holds a pooled connection until the command
        ends). The client would then time out here."""
        client: MongoClient[dict[str, Any]] = MongoClient(MONGODB_URL, socketTimeoutMS=20_000)
        collection = client[self.database_name]["streams"]
        documents = 300
        for round_ in range(2):
            upsert_all(collection, [(f"doc-{j}", {"$set": {"n": round_}}) for j in range(documents)])
        assert {d["_id"]: d["n"] for d in collection.find({})} == {f"doc-{j}": 1 for j in range(documents)}
        client.close()

    def test_same_version_from_two_writers_gives_exactly_one_integrity_error(self) -> None:
        pairs = [open_recorder(self.database_name) for _ in range(2)]
        for _, recorder in pairs:
            recorder.insert_events([event(uuid4(), 1)])  # both learn the head
        for _ in range(15):
            originator_id = uuid4()
            barrier = Barrier(2)
            outcomes: list[str] = []

            def write(
                recorder: MongoApplicationRecorder,
                originator_id: UUID = originator_id,
                barrier: Barrier = barrier,
                outcomes: list[str] = outcomes,
            ) -> None:
                barrier.wait()
                try:
                    recorder.insert_events([event(originator_id, 1)])
                    outcomes.append("ok")
                except IntegrityError:
                    outcomes.append("conflict")

            threads = [Thread(target=write, args=(r,)) for _, r in pairs]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(outcomes) == ["conflict", "ok"]
            assert len(pairs[0][1].select_events(originator_id)) == 1
        for datastore, _ in pairs:
            datastore.close()

    def test_readers_never_see_a_later_notification_id_before_an_earlier_one(self) -> None:
        writers = [open_recorder(self.database_name) for _ in range(4)]
        reader_store, reader = open_recorder(self.database_name)
        stop = Event()
        violations: list[str] = []

        def read() -> None:
            while not stop.is_set():
                ids = [n.id for n in reader.select_notifications(start=1, limit=10_000)]
                if ids != list(range(1, len(ids) + 1)):
                    violations.append(f"saw {ids[:5]}...{ids[-5:]}")

        def write(recorder: MongoApplicationRecorder) -> None:
            for _ in range(25):
                recorder.insert_events([event(uuid4(), 1), event(uuid4(), 1)])

        reader_thread = Thread(target=read)
        reader_thread.start()
        threads = [Thread(target=write, args=(r,)) for _, r in writers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stop.set()
        reader_thread.join()
        assert violations == []
        assert [n.id for n in reader.select_notifications(1, 1000)] == list(range(1, 201))
        for datastore, _ in [*writers, (reader_store, reader)]:
            datastore.close()

    def test_writer_processes_produce_no_duplicate_and_no_missing_notification_id(self) -> None:
        context = multiprocessing.get_context("spawn")
        writers, commits = 4, 30
        processes = [
            context.Process(target=_write_in_process, args=(self.database_name, w, commits)) for w in range(writers)
        ]
        for p in processes:
            p.start()
        for p in processes:
            p.join(timeout=120)
            assert p.exitcode == 0
        expected_events = sum(1 + (w + i) % 3 for w in range(writers) for i in range(commits))
        datastore, recorder = open_recorder(self.database_name)
        ids = [n.id for n in recorder.select_notifications(start=1, limit=10_000)]
        assert ids == list(range(1, expected_events + 1))
        assert recorder.max_notification_id() == expected_events
        datastore.close()


class TestIntegrity(FreshDatabase):
    def test_corrupted_commit_is_reported_with_collection_and_id(self) -> None:
        datastore, recorder = open_recorder(self.database_name)
        recorder.insert_events([event(uuid4(), 1)])
        datastore.database["stored_events"].insert_one({"_id": docs.commit_id(2), "hello": "world"})
        with pytest.raises(CorruptDocumentError) as raised:
            recorder.select_notifications(start=1, limit=10)
        assert "'stored_events'" in str(raised.value)
        assert docs.commit_id(2) in str(raised.value)
        datastore.close()

    def test_corrupted_stream_is_reported_not_skipped(self) -> None:
        datastore, recorder = open_recorder(self.database_name)
        originator_id = uuid4()
        recorder.insert_events([event(originator_id, 1)])
        datastore.database["stored_events_streams"].update_one(
            {"_id": docs.page_id(docs.stream_id(originator_id), 0)}, {"$set": {"e.1.s": "not binary"}}
        )
        with pytest.raises(CorruptDocumentError, match="stored_events_streams"):
            recorder.select_events(originator_id)
        datastore.close()

    def test_commit_too_large_for_one_document_is_refused_clearly(self) -> None:
        datastore, recorder = open_recorder(self.database_name)
        big = [event(uuid4(), 1, b"x" * (9 * 1024 * 1024)), event(uuid4(), 1, b"x" * (9 * 1024 * 1024))]
        with pytest.raises(DocumentSizeError, match="16 MiB"):
            recorder.insert_events(big)
        assert recorder.max_notification_id() is None
        datastore.close()

    def test_commit_left_unprojected_by_a_dead_writer_still_blocks_its_versions(self) -> None:
        datastore = MongoDatastore(MongoSettings(url=MONGODB_URL, database=self.database_name))
        recorder = MongoProcessRecorder(datastore, "stored_events")
        originator_id = uuid4()
        recorder.insert_events([event(originator_id, 1)])
        # A writer that inserted commit 2 and died before projecting it.
        position = docs.CommitPosition(2, 2, 2)
        datastore.database["stored_events"].insert_one(
            docs.encode_commit(position, (event(originator_id, 2),), Tracking("upstream", 7))
        )
        _, other = open_recorder(self.database_name)
        with pytest.raises(IntegrityError):
            other.insert_events([event(originator_id, 2)])
        assert recorder.max_tracking_id("upstream") == 7
        assert [e.originator_version for e in recorder.select_events(originator_id)] == [1, 2]
        datastore.close()

    def test_a_new_owner_resumes_at_positions_committed_after_the_last_checkpoint(self) -> None:
        datastore = MongoDatastore(MongoSettings(url=MONGODB_URL, database=self.database_name))
        owner = MongoProcessRecorder(datastore, "stored_events")
        owner.log.defer_projection = True  # it owns the log (shared/messaging sets this on assignment)
        owner.log.take_in(owner.log.refresh_head())
        streams = datastore.database["stored_events_streams"]
        name = "orders.processing:t#0"
        originator_id = uuid4()

        def commit(version: int, offset: int) -> None:
            batch = OwnedBatch((Tracking(name, offset),), (f"message-{version}",))
            owner.insert_events([event(originator_id, version)], batch=batch)

        with patch.object(commitlog, "CHECKPOINT_EVERY_S", 3600.0):
            for version in (1, 2, 3):
                commit(version, version * 10)
            # Not stored with each commit (that is the saving), yet the owner itself knows it...
            assert streams.find_one({"_id": docs.TRACKING_PREFIX + name}) is None
            assert owner.max_tracking_id(name) == 30
            # ...and its checkpoint (when idle, before letting the log go) stores it.
            owner.log.checkpoint()
            assert (streams.find_one({"_id": docs.TRACKING_PREFIX + name}) or {}).get("n") == 30
            assert (streams.find_one({"_id": docs.WATERMARK_ID}) or {}).get("n") == 3
            commit(4, 40)
        # The owner died before its next checkpoint: the next owner projects the commits after the watermark.
        next_datastore = MongoDatastore(MongoSettings(url=MONGODB_URL, database=self.database_name))
        next_owner = MongoProcessRecorder(next_datastore, "stored_events")
        next_owner.log.defer_projection = True
        assert next_owner.max_tracking_id(name) == 40
        assert [e.originator_version for e in next_owner.select_events(originator_id)] == [1, 2, 3, 4]
        datastore.close()
        next_datastore.close()

    def test_an_owner_writes_a_page_once_per_checkpoint_and_loses_nothing_when_it_dies_before_one(self) -> None:
        datastore = MongoDatastore(MongoSettings(url=MONGODB_URL, database=self.database_name))
        owner = MongoProcessRecorder(datastore, "stored_events")
        owner.log.take_in(owner.log.refresh_head())
        owner.log.defer_projection = True
        name = "orders.processing:t#0"
        originator_id = uuid4()
        page = docs.page_id(docs.stream_id(originator_id), 0)
        page_writes: list[str] = []

        counting = [owner.log.streams_collection]  # whose page writes are counted

        def counted(collection: Any, writes: Any) -> None:
            if collection is counting[0]:
                page_writes.extend(_id for _id, _ in writes if _id == page)
            upsert_all(collection, writes)

        def commit(version: int) -> None:
            batch = OwnedBatch((Tracking(name, version * 10),), (f"message-{version}",))
            owner.insert_events([event(originator_id, version)], batch=batch)

        with patch.object(commitlog, "CHECKPOINT_EVERY_S", 3600.0), patch.object(commitlog, "upsert_all", counted):
            for version in (1, 2, 3):
                commit(version)
            # The owner reads its own commits at once, and so do the process's queries (a reader sharing them)...
            assert [e.originator_version for e in owner.select_events(originator_id)] == [1, 2, 3]
            _, reader = open_recorder(self.database_name)
            reader.log.pending = owner.log.pending
            assert [e.originator_version for e in reader.select_events(originator_id)] == [1, 2, 3]
            # ...and another process's reader too, from the commits after the stored watermark.
            _, elsewhere = open_recorder(self.database_name)
            assert [e.originator_version for e in elsewhere.select_events(originator_id)] == [1, 2, 3]
            assert [e.originator_version for e in elsewhere.select_events(originator_id, desc=True, limit=1)] == [3]
            assert [e.originator_version for e in owner.select_events(originator_id, gt=1, limit=1)] == [2]
            assert [e.originator_version for e in owner.select_events(originator_id, desc=True, limit=1)] == [3]
            # ...another writer cannot write a version it holds (it projects the commits after the watermark)...
            _, other = open_recorder(self.database_name)
            with pytest.raises(IntegrityError):
                other.insert_events([event(originator_id, 3)])
            owner.log.take_in(owner.log.refresh_head())  # (the owner absorbs that writer's no-op)
            owner.log.checkpoint()
            commit(4)
            commit(5)
            # ...and the page three commits touched was written once, by the owner's checkpoint.
            assert page_writes.count(page) == 1
        # The owner died before its next checkpoint (versions 4 and 5 only in its commits): the next owner
        # projects the commits after the watermark before it reads, the page the two touched in one write.
        next_datastore = MongoDatastore(MongoSettings(url=MONGODB_URL, database=self.database_name))
        next_owner = MongoProcessRecorder(next_datastore, "stored_events")
        next_owner.log.defer_projection = True
        page_writes.clear()
        counting[0] = next_owner.log.streams_collection
        with patch.object(commitlog, "upsert_all", counted):
            assert next_owner.max_tracking_id(name) == 50
        assert page_writes.count(page) == 1
        assert [e.originator_version for e in next_owner.select_events(originator_id)] == [1, 2, 3, 4, 5]
        datastore.close()
        next_datastore.close()

    def test_only_the_owner_writes_pages_and_every_reader_sees_another_writers_commit_at_once(self) -> None:
        """FerretDB runs an update as a read and a separate write, so two processes writing one page at once can
        lose each other's versions: a process that does not own the log (an HTTP command on another replica)
        appends its commit and writes no page; the owner projects it when it takes it in."""
        datastore = MongoDatastore(MongoSettings(url=MONGODB_URL, database=self.database_name))
        owner = MongoProcessRecorder(datastore, "stored_events")
        owner.log.defer_projection = True
        owner.log.take_in(owner.log.refresh_head())
        _, queries = open_recorder(self.database_name)  # the owner process's query reader
        queries.log.pending, queries.log.serves_queries = owner.log.pending, True
        streams: Any = datastore.database["stored_events_streams"]
        originator_id = uuid4()
        page = docs.page_id(docs.stream_id(originator_id), 0)

        def batch(n: int) -> OwnedBatch:
            return OwnedBatch((Tracking("orders.processing:t#0", n),), (f"message-{n}",))

        owner.insert_events([event(originator_id, 1), event(originator_id, 2)], batch=batch(1))
        owner.log.checkpoint()
        other_datastore, other = open_recorder(self.database_name)
        other.log.take_in(other.log.refresh_head())
        other.insert_events([event(originator_id, 3)], batch=batch(2))

        assert sorted((streams.find_one({"_id": page}) or {})["e"]) == ["1", "2"]  # no page write by the other
        _, elsewhere = open_recorder(self.database_name)
        for reader in (other, queries, elsewhere):
            assert [e.originator_version for e in reader.select_events(originator_id)] == [1, 2, 3]
        with pytest.raises(commitlog.LogMoved):  # the owner's next commit collides...
            owner.insert_events([event(originator_id, 3)], batch=batch(3))
        fence = owner.log.fence
        assert fence is not None
        owner.log.take_in(owner.log.commits_after(fence.number)[-1].position)  # ...and it takes the commit in
        assert sorted((streams.find_one({"_id": page}) or {})["e"]) == ["1", "2", "3"]
        assert [e.originator_version for e in owner.select_events(originator_id)] == [1, 2, 3]
        datastore.close()
        other_datastore.close()

    def test_a_reader_elsewhere_reads_each_commit_after_the_watermark_once(self) -> None:
        datastore = MongoDatastore(MongoSettings(url=MONGODB_URL, database=self.database_name))
        owner = MongoProcessRecorder(datastore, "stored_events")
        owner.log.defer_projection = True
        owner.log.take_in(owner.log.refresh_head())
        streams = [uuid4() for _ in range(100)]
        with patch.object(commitlog, "CHECKPOINT_EVERY_S", 3600.0):
            for n in range(300):  # three versions of each stream, in 300 commits the owner has not checkpointed
                batch = OwnedBatch((Tracking("orders.processing:t#0", n + 1),), (f"message-{n}",))
                owner.insert_events([event(streams[n % 100], n // 100 + 1)], batch=batch)
            _, elsewhere = open_recorder(self.database_name)
            reads: list[int] = []
            read_commit = elsewhere.log.read_commit

            def counted(number: int) -> Any:
                reads.append(number)
                return read_commit(number)

            with patch.object(elsewhere.log, "read_commit", counted):
                for _ in range(3):
                    for originator_id in streams:
                        assert [e.originator_version for e in elsewhere.select_events(originator_id)] == [1, 2, 3]
                assert sorted(reads) == list(range(1, 301))  # 300 reads of streams, each commit read once
                owner.log.checkpoint()  # the watermark passes them: the pages answer, nothing is read again
                reads.clear()
                for originator_id in streams:
                    assert [e.originator_version for e in elsewhere.select_events(originator_id)] == [1, 2, 3]
                assert reads == []
        datastore.close()


class TestApplicationOptions(FreshDatabase):
    def test_cipher_compressor_and_snapshots_work_through_the_store(self) -> None:
        from eventsourcing.cipher import AESCipher

        app = BankAccounts(
            env={
                "CIPHER_KEY": AESCipher.create_key(16),
                "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
                "IS_SNAPSHOTTING_ENABLED": "y",
            }
        )
        account_id = app.open_account("Alice", "alice@example.com")
        app.credit_account(account_id, Decimal("10.00"))
        app.take_snapshot(account_id)
        assert app.get_balance(account_id) == Decimal("10.00")
        raw = app.factory.datastore.database["bankaccounts_events"].find_one(  # type: ignore[attr-defined]
            {"_id": docs.commit_id(1)}
        )
        assert b"Alice" not in raw["events"][0]["s"]
        snapshots = app.factory.datastore.database["bankaccounts_snapshots"]  # type: ignore[attr-defined]
        assert snapshots.find_one({"_id": docs.commit_id(1)}) is not None
        app.close()


class TestAsyncOffload(FreshDatabase):
    def test_event_loop_keeps_ticking_during_a_thousand_saves(self) -> None:
        app = Application[UUID]()
        max_gap = asyncio.run(self._saves_with_heartbeat(app, saves=1000))
        app.close()
        assert max_gap < 0.25, f"event loop blocked for {max_gap:.3f}s"

    async def _saves_with_heartbeat(self, app: Application[UUID], saves: int) -> float:
        ticks: list[float] = []
        done = asyncio.Event()

        async def heartbeat() -> None:
            while not done.is_set():
                ticks.append(time.perf_counter())
                await asyncio.sleep(0.01)

        beat = asyncio.create_task(heartbeat())
        # The way the services call their applications (consumer runtime, HTTP routes): a worker thread each.
        for _ in range(saves):
            await asyncio.to_thread(app.save, Aggregate())
        assert await asyncio.to_thread(app.recorder.max_notification_id) == saves
        done.set()
        await beat
        return max(b - a for a, b in pairwise(ticks))
