"""The projection runner of a log's owner (shared/projections.py), with its position in a real FerretDB: what its
own process stores it folds from memory, without reading it back; what it did not see stored (another
process's commit) it reads from the log; either way in log order, each event once, and the position it saves
lets a new runner go on where it stopped."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

from pymongo import AsyncMongoClient

from shared.messaging.application import Delivery, ServiceApplication
from shared.projections import ProjectionRunner
from tests.integration.test_messaging_runtime import CountedV1, CounterApplication, eventually


class Versions:
    """A projection that keeps the versions of the events it was given (the counter's first count is two events:
    created, increased), in the order folded."""

    def __init__(self) -> None:
        self.folded: list[int] = []

    async def apply_batch(self, events: Sequence[Any], replaying: bool) -> None:
        self.folded += [int(event.originator_version) for event in events]

    def reset(self) -> None:
        pass


class Batches(Versions):
    """Also keeps the size of each batch it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    async def apply_batch(self, events: Sequence[Any], replaying: bool) -> None:
        self.sizes.append(len(events))
        await super().apply_batch(events, replaying)


class CountingReads(CounterApplication):
    """Counts how often the log is read, which is what folding from memory saves."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env)
        self.reads = 0
        select = self.recorder.select_notifications

        def counted(start: int | None, limit: int, *args: Any, **kwargs: Any) -> Any:
            self.reads += 1
            return select(start, limit, *args, **kwargs)

        self.recorder.select_notifications = counted  # type: ignore[method-assign]


def count(app: CounterApplication, by: int) -> None:
    app.process([Delivery(str(uuid.uuid4()), lambda: app.count(CountedV1(counter="c", by=by)))])


async def test_stored_batches_are_folded_from_memory_and_a_gap_is_read_from_the_log(
    mongo: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    app = CountingReads(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    assert isinstance(app, ServiceApplication)
    positions = mongo[f"projection_runner_{unique}"]["positions"]
    projection = Versions()
    runner = ProjectionRunner("counters", app, projection, positions, idle_poll_s=30)
    app.call_after_store(runner.stored)
    await runner.start()
    try:
        await eventually(lambda: runner.running and app.reads >= 1)  # its first look at the (empty) log
        reads_at_start = app.reads

        for by in range(1, 6):
            await asyncio.to_thread(count, app, by)
        await eventually(lambda: len(projection.folded) == 6)
        assert projection.folded == [1, 2, 3, 4, 5, 6]
        assert app.reads == reads_at_start  # folded as stored, nothing read back

        # Stored unseen (as by another process), then a batch it sees: it reads the gap, then goes on.
        app._store_listeners = ()
        await asyncio.to_thread(count, app, 6)
        await asyncio.to_thread(count, app, 7)
        app.call_after_store(runner.stored)
        await asyncio.to_thread(count, app, 8)
        await eventually(lambda: len(projection.folded) == 9)
        assert projection.folded == list(range(1, 10))
    finally:
        await runner.stop()

    # Stopping saved the position: a new runner folds only what is stored after it.
    assert (await positions.find_one({"_id": "counters"}) or {}).get("position") == 9
    await asyncio.to_thread(count, app, 9)
    again = Versions()
    fresh = ProjectionRunner("counters", app, again, positions)
    await fresh.catch_up()
    assert again.folded == [10]


async def test_a_lingering_runner_folds_what_is_stored_close_together_in_one_batch_in_log_order(
    mongo: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    """A read model writes per batch: with a linger, twenty commits stored within it are folded in a batch or two,
    not twenty; the first after a quiet stretch goes at once. Each event once, in log order."""
    app = CountingReads(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    positions = mongo[f"projection_runner_{unique}"]["positions"]
    projection = Batches()
    runner = ProjectionRunner("counters", app, projection, positions, idle_poll_s=30, linger_s=0.5)
    app.call_after_store(runner.stored)
    await runner.start()
    try:
        await eventually(lambda: runner.running and app.reads >= 1)
        await asyncio.to_thread(count, app, 1)  # created + increased
        await eventually(lambda: len(projection.folded) == 2)
        assert projection.sizes == [2]  # at once: nothing came before it

        def twenty() -> None:
            for by in range(2, 22):
                count(app, by)

        await asyncio.to_thread(twenty)
        await eventually(lambda: len(projection.folded) == 22)
        assert projection.folded == list(range(1, 23))
        assert len(projection.sizes) <= 4, projection.sizes  # 1 + the twenty in a few batches
    finally:
        await runner.stop()
