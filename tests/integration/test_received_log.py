"""The received-events log on the real FerretDB: one insert per batch, and the shards an earlier version wrote are
still read (an order's point-in-time replay, a rebuild's scan)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.customer_service.projections.as_of import history_as_of
from services.customer_service.projections.received import COUNTERS, LOG, legacy_shard_of
from services.customer_service.projections.store import ProjectionStore
from shared.telemetry.store_commands import STORE_COMMANDS
from tests.unit.customer_service import factories as f


@pytest.fixture
def database(counted_database: AsyncDatabase[dict[str, Any]]) -> AsyncDatabase[dict[str, Any]]:
    return counted_database


async def test_a_batch_of_many_orders_is_one_insert_into_one_collection(
    database: AsyncDatabase[dict[str, Any]],
) -> None:
    store = ProjectionStore(database, shards=2)
    await store.create_collections()
    events = [f.accepted(order_id=f"SO-{n:03d}") for n in range(20)]
    before = STORE_COMMANDS.snapshot()

    await store.log.append_many(events)

    made = Counter({key: n - before.get(key, 0) for key, n in STORE_COMMANDS.snapshot().items()})
    assert made["insert", LOG] == 1
    assert made["findAndModify", COUNTERS] == 1
    assert await database[LOG].count_documents({}) == 20
    assert [e.order_id async for e in store.log.scan()] == [f"SO-{n:03d}" for n in range(20)]


async def test_events_an_earlier_version_wrote_to_its_shards_are_still_replayed_and_rebuilt(
    database: AsyncDatabase[dict[str, Any]],
) -> None:
    flow = f.full_flow()
    half = len(flow) // 2
    # What an earlier version left: the first half of the order, numbered 1…half, in the order's shard.
    shard = database[legacy_shard_of(f.ORDER_ID)]
    await shard.insert_many([e.with_seq(n).to_document(datetime.now(UTC)) for n, e in enumerate(flow[:half], 1)])
    await database[COUNTERS].insert_one({"_id": LOG, "seq": half})
    store = ProjectionStore(database, shards=2)
    await store.create_collections()
    for n, event in enumerate(flow[:half], 1):  # the history the earlier version folded
        await store.record(event.with_seq(n), append=False)

    await store.record_many(flow[half:])  # the rest, live

    assert await shard.count_documents({}) == half  # nothing more was written there
    assert await database[LOG].count_documents({}) == len(flow) - half
    assert await store.log.total() == len(flow)
    assert [e.event_id async for e in store.log.scan()] == [e.event_id for e in flow]
    history = await store.history(f.ORDER_ID)
    assert history is not None and history["seqs"] == list(range(1, len(flow) + 1))
    replayed = await history_as_of(store, f.ORDER_ID, datetime(9999, 12, 31, tzinfo=UTC))
    assert replayed is not None
    assert [entry["type"] for entry in replayed["timeline"]] == [entry["type"] for entry in history["timeline"]]
