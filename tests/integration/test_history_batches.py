"""A batch of many orders folded on the real FerretDB: one write per read model, not one per order, and what a
support agent reads afterwards is each order as its events say."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.customer_service.projections.store import ProjectionStore
from shared.eventstore.streams import UPDATES_PER_COMMAND
from shared.telemetry.store_commands import STORE_COMMANDS
from tests.unit.customer_service import factories as f

# As many as one `update` command carries (shared/batched_writes.py): one write per read model.
ORDERS = [f"SO-{n:03d}" for n in range(UPDATES_PER_COMMAND)]


@pytest.fixture
def database(counted_database: AsyncDatabase[dict[str, Any]]) -> AsyncDatabase[dict[str, Any]]:
    return counted_database


def made(before: dict[tuple[str, str], int], collection_part: str, commands: tuple[str, ...]) -> Counter[str]:
    """`commands` made since `before` to the collections whose name contains `collection_part`."""
    counted: Counter[str] = Counter()
    for (command, collection), n in STORE_COMMANDS.snapshot().items():
        if collection_part in collection and command in commands and n > before.get((command, collection), 0):
            counted[command] += n - before.get((command, collection), 0)
    return counted


def writes(before: dict[tuple[str, str], int], collection_part: str) -> Counter[str]:
    return made(before, collection_part, ("insert", "update", "findAndModify"))


def reads(before: dict[tuple[str, str], int], collection_part: str) -> Counter[str]:
    return made(before, collection_part, ("find", "findAndModify"))


async def test_a_batch_of_orders_is_one_write_per_read_model(database: AsyncDatabase[dict[str, Any]]) -> None:
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


async def test_the_lookups_of_a_batch_are_one_write_and_a_new_owner_reads_a_chain_once(
    database: AsyncDatabase[dict[str, Any]],
) -> None:
    # One partition: a batch of 14 new customers is 16 chains (their 14, the email's and the sku's), one command.
    store = ProjectionStore(database, partitions=1)
    await store.create_collections()

    def placed(numbers: range) -> list[Any]:
        return [f.accepted(order_id=f"SO-{n:03d}", customer_id=f"C-{n}") for n in numbers]

    for batch in (range(0, 14), range(14, 28)):  # new keys (customers, emails), then a key it knows (the sku)
        before = STORE_COMMANDS.snapshot()
        await store.record_many(placed(batch))
        assert writes(before, "_lookups_") == Counter(update=1)
        assert reads(before, "_lookups_") == Counter()
    # The partition moves: the next owner does not know the email's and sku's chains; it reads each once.
    next_owner = ProjectionStore(database, partitions=1)
    for batch, read in ((range(28, 42), 2), (range(42, 56), 0)):
        before = STORE_COMMANDS.snapshot()
        await next_owner.record_many(placed(batch))
        assert writes(before, "_lookups_") == Counter(update=1)
        assert sum(reads(before, "_lookups_").values()) == read

    assert sorted(await store.lookup(f"sku:{f.SKU}")) == [f"SO-{n:03d}" for n in range(56)]
    assert await next_owner.lookup("customer:C-33") == ["SO-033"]
    assert await next_owner.lookup("email:ana@example.com") != []


async def test_a_batch_of_more_updates_than_the_store_has_connections_goes_through(
    database: AsyncDatabase[dict[str, Any]],
) -> None:
    # FerretDB holds a pooled connection per statement of an update command until it ends (100 per database):
    # one command of this batch's 300 history replaces would wedge the database for good.
    store = ProjectionStore(database)
    await store.create_collections()
    many = [f"SO-{n:03d}" for n in range(300)]
    await asyncio.wait_for(store.record_many([f.accepted(order_id=o, customer_id=f"C-{o}") for o in many]), 60)
    received = [
        f.event("orders", "OrderStatusChanged", 0.02, {"status": "received", "previous": None}, order_id=o)
        for o in many
    ]

    await asyncio.wait_for(store.record_many(received), 60)

    assert {s["status"] for s in await store.summaries_of(many)} == {"received"}
    assert len(await store.lookup(f"sku:{f.SKU}")) == 300
