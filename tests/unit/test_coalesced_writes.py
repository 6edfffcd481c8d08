"""Batches handed in by several logs at once are written together; a failure stays with the log it belongs to."""

import asyncio

import pytest

from shared.messaging.coalesce import Coalesced


class Store:
    def __init__(self, poison: str | None = None) -> None:
        self.writes: list[list[str]] = []
        self.poison = poison

    async def write(self, items: list[str]) -> None:
        await asyncio.sleep(0.001)  # a round trip
        if self.poison in items:
            raise ValueError(f"cannot store {self.poison}")
        self.writes.append(items)


def test_batches_handed_in_at_the_same_moment_are_one_write() -> None:
    async def run() -> Store:
        store = Store()
        write = Coalesced(store.write)
        await asyncio.gather(write(["a1", "a2"]), write(["b1"]), write(["c1"]))
        return store

    assert asyncio.run(run()).writes == [["a1", "a2", "b1", "c1"]]


def test_a_batch_handed_in_later_is_its_own_write_and_may_run_alongside() -> None:
    async def run() -> Store:
        store = Store()
        write = Coalesced(store.write, gather_s=0.001)
        first = asyncio.create_task(write(["a1"]))
        await asyncio.sleep(0.01)
        await asyncio.gather(first, write(["b1"]))
        return store

    assert asyncio.run(run()).writes == [["a1"], ["b1"]]


def test_a_part_that_cannot_be_stored_fails_alone_and_the_others_are_written() -> None:
    async def run() -> tuple[Store, list[BaseException | None]]:
        store = Store(poison="b2")
        write = Coalesced(store.write)
        outcomes = await asyncio.gather(write(["a1"]), write(["b1", "b2"]), write(["c1"]), return_exceptions=True)
        return store, list(outcomes)

    store, outcomes = asyncio.run(run())
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], ValueError) and "b2" in str(outcomes[1])
    # The combined write failed as a whole, then each part was written alone.
    assert store.writes == [["a1"], ["c1"]]


def test_a_log_that_stops_waiting_does_not_stop_the_others() -> None:
    async def run() -> Store:
        store = Store()
        write = Coalesced(store.write)
        cancelled = asyncio.create_task(write(["a1"]))
        kept = asyncio.create_task(write(["b1"]))
        await asyncio.sleep(0)
        cancelled.cancel()
        await kept
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        return store

    # The cancelled log's part may still be written (idempotent); the other's is.
    assert "b1" in asyncio.run(run()).writes[0]
