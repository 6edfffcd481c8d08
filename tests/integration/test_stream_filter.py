"""The owner of a log knows that a stream is new without a store read (shared/eventstore/stream_filter.py), and
is never wrong about one that exists: after a take-over, with a filter stored late, with none stored at all, and
when another process created the stream behind its back."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from unittest.mock import patch
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent, Tracking

from shared.eventstore import commitlog
from shared.eventstore.datastore import MongoDatastore, MongoSettings
from shared.eventstore.recorders import MongoProcessRecorder, OwnedBatch
from shared.eventstore.stream_filter import FILTER_ID
from shared.telemetry.store_commands import STORE_COMMANDS, count_store_commands
from tests.integration.eventstore_fixtures import MONGODB_URL, FreshDatabase

TRACKING = "shipping.processing:t#0"


def event(originator_id: UUID, version: int) -> StoredEvent:
    return StoredEvent(originator_id=originator_id, originator_version=version, topic="t", state=b"{}")


def batch(n: int) -> OwnedBatch:
    return OwnedBatch((Tracking(TRACKING, n),), (f"message-{n}",))


@contextmanager
def store_commands() -> Iterator[Counter[tuple[str, str]]]:
    """The round trips made meanwhile, by (command, collection), counted as the services count theirs."""
    before = STORE_COMMANDS.snapshot()
    made: Counter[tuple[str, str]] = Counter()
    yield made
    made.update({key: n - before.get(key, 0) for key, n in STORE_COMMANDS.snapshot().items() if n > before.get(key, 0)})


class TestStreamFilter(FreshDatabase):
    def setUp(self) -> None:
        super().setUp()
        count_store_commands()  # every client made from here on
        self.datastores: list[MongoDatastore] = []

    def tearDown(self) -> None:
        for datastore in self.datastores:
            datastore.close()
        super().tearDown()

    def recorder(self, *, owner: bool = True, filter_bits: int | None = None) -> MongoProcessRecorder:
        """A recorder in a process of its own (its own client); an owner takes the log in as shared/messaging does."""
        datastore = MongoDatastore(MongoSettings(url=MONGODB_URL, database=self.database_name))
        self.datastores.append(datastore)
        recorder = MongoProcessRecorder(datastore, "stored_events")
        if filter_bits is not None:
            recorder.log.filter_bits = filter_bits
        recorder.log.defer_projection = owner
        recorder.log.take_in(recorder.log.refresh_head())
        return recorder

    def versions(self, recorder: MongoProcessRecorder, originator_id: UUID) -> list[int]:
        return [e.originator_version for e in recorder.select_events(originator_id)]

    def test_a_new_stream_costs_no_read_and_a_next_owner_knows_every_stream(self) -> None:
        owner = self.recorder()
        streams = [uuid4() for _ in range(20)]
        with patch.object(commitlog, "CHECKPOINT_EVERY_S", 3600.0):
            for n, originator_id in enumerate(streams, 1):
                owner.insert_events([event(originator_id, 1)], batch=batch(n))
                if n == 10:
                    owner.log.checkpoint()  # the stored filter covers ten; the other ten are only in commits
            with store_commands() as reads:
                assert owner.select_events(uuid4(), limit=1) == []
            assert not reads
            assert all(self.versions(owner, originator_id) == [1] for originator_id in streams)
        # The owner died before its next checkpoint: the next owner loads the stored filter and adds the streams
        # of the commits after it.
        next_owner = self.recorder()
        assert [self.versions(next_owner, originator_id) for originator_id in streams] == [[1]] * 20
        with store_commands() as reads:
            assert next_owner.select_events(uuid4(), limit=1) == []
        assert not reads

    def test_a_log_stored_without_a_filter_gets_one_built_from_its_pages(self) -> None:
        before = self.recorder(filter_bits=0)  # as written before the filter existed
        streams = [uuid4() for _ in range(10)]
        for n, originator_id in enumerate(streams, 1):
            before.insert_events([event(originator_id, 1)], batch=batch(n))
        before.log.checkpoint()
        assert before.log.streams_collection.find_one({"_id": FILTER_ID}) is None
        owner = self.recorder()
        assert [self.versions(owner, originator_id) for originator_id in streams] == [[1]] * 10
        with store_commands() as reads:
            assert owner.select_events(uuid4(), limit=1) == []
        assert not reads
        owner.log.checkpoint()
        assert owner.log.streams_collection.find_one({"_id": FILTER_ID}) is not None

    def test_a_filter_stored_late_by_an_earlier_owner_misses_nothing(self) -> None:
        owner = self.recorder()
        early, late = [uuid4() for _ in range(5)], [uuid4() for _ in range(5)]
        for n, originator_id in enumerate(early, 1):
            owner.insert_events([event(originator_id, 1)], batch=batch(n))
        owner.log.checkpoint()
        collection = owner.log.streams_collection
        old_filter = collection.find_one({"_id": FILTER_ID})
        assert old_filter is not None and old_filter["upto"] == 5
        for n, originator_id in enumerate(late, 6):
            owner.insert_events([event(originator_id, 1)], batch=batch(n))
        owner.log.checkpoint()
        # A process that had not noticed it lost the log stores its older filter over the newer one.
        collection.replace_one({"_id": FILTER_ID}, old_filter)
        next_owner = self.recorder()
        assert [self.versions(next_owner, originator_id) for originator_id in early + late] == [[1]] * 10
        with store_commands() as reads:  # (it read the commits the old filter lacks, and is of use again)
            assert next_owner.select_events(uuid4(), limit=1) == []
        assert not reads

    def test_a_stream_another_process_created_is_taken_in_before_the_owner_commits(self) -> None:
        owner = self.recorder()
        owner.insert_events([event(uuid4(), 1)], batch=batch(1))
        elsewhere = self.recorder(owner=False)  # an HTTP command on another replica
        created = uuid4()
        elsewhere.insert_events([event(created, 1)], batch=batch(2))
        # The owner has not seen it: to it the stream looks new, as to its cache any change made elsewhere...
        assert owner.select_events(created, limit=1) == []
        # ...and what it decides on that is never stored: its commit collides with the other one.
        with pytest.raises(commitlog.LogMoved):
            owner.insert_events([event(created, 1)], batch=batch(3))
        fence = owner.log.fence
        assert fence is not None
        owner.log.take_in(owner.log.commits_after(fence.number)[-1].position)
        assert self.versions(owner, created) == [1]
        owner.insert_events([event(created, 2)], batch=batch(3))
        assert self.versions(self.recorder(owner=False), created) == [1, 2]
