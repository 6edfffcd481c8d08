"""A batch of many orders folded on the real FerretDB: one write per read model, not one per order, and what a
support agent reads afterwards is each order as its events say."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.customer_service.projections.store import ProjectionStore
from shared.telemetry.store_commands import STORE_COMMANDS, count_store_commands
from tests.integration.conftest import Infrastructure
from tests.unit.customer_service import factories as f

ORDERS = [f"SO-{n:03d}" for n in range(20)]


@pytest.fixture
async def database(infrastructure: Infrastructure, unique: str) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    count_store_commands()  # the client below is counted as the services count theirs
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infrastructure.mongodb_url)
    yield client[f"test_batches_{unique}"]
    await client.drop_database(f"test_batches_{unique}")
    await client.close()


def writes(before: dict[tuple[str, str], int], collection_part: str) -> Counter[str]:
    """Write commands made since `before` to the collections whose name contains `collection_part`."""
    made: Counter[str] = Counter()
    for (command, collection), n in STORE_COMMANDS.snapshot().items():
        if (
            collection_part in collection
            and command in ("insert", "update")
            and n > before.get((command, collection), 0)
        ):
            made[command] += n - before.get((command, collection), 0)
    return made


async def test_twenty_orders_in_one_batch_are_one_write_per_read_model(database: AsyncDatabase[dict[str, Any]]) -> None:
    store = ProjectionStore(database)
    await store.create_collections()

    before = STORE_COMMANDS.snapshot()
    await store.record_many([f.accepted(order_id=order_id) for order_id in ORDERS])
    assert writes(before, "_histories_") == Counter(insert=1)
    assert writes(before, "_summaries_") == Counter(update=1)

    before = STORE_COMMANDS.snapshot()
    await store.record_many(
        [
            f.event("orders", "OrderStatusChanged", 0.02, {"status": "received", "previous": None}, order_id=order_id)
            for order_id in ORDERS
        ]
    )
    assert writes(before, "_histories_") == Counter(update=1)
    assert writes(before, "_summaries_") == Counter(update=1)

    for order_id in ORDERS:
        history = await store.history(order_id)
        assert history is not None and history["status"] == "received" and history["version"] == 2
    summaries = await store.summaries_of(ORDERS)
    assert sorted(s["_id"] for s in summaries) == ORDERS and {s["status"] for s in summaries} == {"received"}
    assert sorted(await store.lookup("customer:C-881")) == ORDERS


async def test_a_redelivered_batch_changes_nothing(database: AsyncDatabase[dict[str, Any]]) -> None:
    store = ProjectionStore(database)
    await store.create_collections()
    batch = [f.accepted(order_id=order_id) for order_id in ORDERS]
    await store.record_many(batch)
    first = {order_id: await store.history(order_id) for order_id in ORDERS}
    restarted = ProjectionStore(database)  # a new owner: nothing in memory

    await restarted.record_many(batch)

    assert {order_id: await restarted.history(order_id) for order_id in ORDERS} == first
    assert {h["version"] for h in first.values() if h is not None} == {1}
