"""The lookup documents behind search by customer, email and sku, on the real FerretDB: orders folded at the same
time are all found (FerretDB's update is a read and a separate write: concurrent updates of one document lose
ids), no document grows with the number of orders, and a writer that takes a partition over, a rebuild's documents
and a document written by the previous version all read the same."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.customer_service.projections import lookups
from services.customer_service.projections.search import OrderSearch, search_orders
from services.customer_service.projections.store import ProjectionStore
from tests.unit.customer_service import factories as f


async def _documents(store: ProjectionStore) -> list[dict[str, Any]]:
    generation = await store.generation()
    found = []
    for shard in range(store.shards_of(generation)):
        found.extend([d async for d in store.database[f"{generation}_lookups_{shard:03d}"].find({})])
    return found


async def store_with_buckets_of(
    size: int, database: Any, monkeypatch: pytest.MonkeyPatch, partitions: int
) -> ProjectionStore:
    monkeypatch.setattr(lookups, "BUCKET", size)
    store = ProjectionStore(database, shards=2, partitions=partitions)
    await store.create_collections()
    return store


@pytest.fixture
async def database(mongo: AsyncMongoClient[dict[str, Any]], unique: str) -> Any:
    database = mongo[f"test_lookups_{unique}"]
    yield database
    await mongo.drop_database(database.name)


async def test_orders_folded_at_the_same_time_are_all_found_by_their_sku(database: Any) -> None:
    # Two processes (two stores: their own locks and caches), each owning three of the six partitions, fold 120
    # orders of one sku at once, each process its orders concurrently.
    store_a, store_b = ProjectionStore(database, shards=2), ProjectionStore(database, shards=2)
    await store_a.create_collections()
    order_ids = [f"SO-{n:05d}" for n in range(120)]
    mine = {id_ for id_ in order_ids if store_a.search_keys.partition(id_) < 3}
    await asyncio.gather(
        *(
            (store_a if order_id in mine else store_b).record(f.accepted(order_id, customer_id=f"C-{n % 7}"))
            for n, order_id in enumerate(order_ids)
        )
    )

    assert sorted(await store_a.lookup(f"sku:{f.SKU}")) == order_ids
    assert sorted(await store_b.lookup("customer:C-3")) == [o for n, o in enumerate(order_ids) if n % 7 == 3]
    found = await search_orders(store_b, OrderSearch(sku=f.SKU, page_size=200))
    assert found["total"] == 120


async def test_no_lookup_document_grows_with_the_orders_and_a_new_owner_continues_the_chain(
    database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await store_with_buckets_of(10, database, monkeypatch, partitions=1)
    first = [f"SO-{n:05d}" for n in range(35)]
    for order_id in first:
        await owner.record(f.accepted(order_id))
    # The partition moves: a process that never wrote this key goes on with the chain.
    next_owner = ProjectionStore(database, shards=2, partitions=1)
    later = [f"SO-{n:05d}" for n in range(35, 60)]
    for order_id in later:
        await next_owner.record(f.accepted(order_id))

    assert sorted(await owner.lookup(f"sku:{f.SKU}")) == first + later
    sku_documents = [d for d in await _documents(owner) if d["_id"].startswith(f"sku:{f.SKU}@")]
    assert len(sku_documents) >= 6
    # The next owner's first write went to the head it did not know was full: one id over, no more.
    assert max(len(d["order_ids"]) for d in sku_documents) <= 11


async def test_a_rebuilds_chains_and_an_earlier_versions_document_read_like_live_ones(
    database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await store_with_buckets_of(4, database, monkeypatch, partitions=3)
    generation = await store.generation()
    rebuilt = [f"SO-R{n}" for n in range(11)]
    by_partition: dict[int, list[str]] = {}
    for order_id in rebuilt:
        by_partition.setdefault(store.search_keys.partition(order_id), []).append(order_id)
    for partition, ids in by_partition.items():
        for document in lookups.lookup_documents("sku:MUG", partition, ids):
            await store.lookups(generation, document["_id"]).insert_one(document)
    await store.lookups(generation, "sku:MUG").insert_one({"_id": "sku:MUG", "order_ids": ["SO-OLD-1", "SO-OLD-2"]})
    for n in range(6):
        await store.search_keys.add(generation, store._lookup_collection(generation), "sku:MUG", f"SO-L{n}")

    assert sorted(await store.lookup("sku:MUG")) == sorted(
        rebuilt + ["SO-OLD-1", "SO-OLD-2"] + [f"SO-L{n}" for n in range(6)]
    )


async def test_a_new_owner_counts_a_chain_it_did_not_know_when_it_writes_it_with_new_ones(
    database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await store_with_buckets_of(4, database, monkeypatch, partitions=1)
    await owner.record_many([f.accepted(f"SO-A{n}", customer_id="C-1") for n in range(3)])  # C-1's head: 3 ids
    # Each batch writes C-1's chain (existing; first in the command) with a new customer's (inserted by the upsert):
    # the next owner must learn C-1's head holds 4 now, not take it for the new one.
    next_owner = ProjectionStore(database, shards=2, partitions=1)
    for n in range(6):
        await next_owner.record_many(
            [f.accepted(f"SO-B{n}", customer_id="C-1"), f.accepted(f"SO-N{n}", customer_id=f"C-9{n}")]
        )

    c1 = sorted([f"SO-A{n}" for n in range(3)] + [f"SO-B{n}" for n in range(6)])
    assert sorted(await next_owner.lookup("customer:C-1")) == c1
    chain = [d for d in await _documents(next_owner) if d["_id"].startswith("customer:C-1@")]
    assert max(len(d["order_ids"]) for d in chain) <= 4


async def test_a_search_without_a_key_pages_newest_first_over_every_matching_order(database: Any) -> None:
    store = ProjectionStore(database, shards=2)
    await store.create_collections()
    order_ids = [f"SO-{n:05d}" for n in range(25)]
    placed = [
        replace(f.accepted(order_id, customer_id=f"C-{n}"), occurred_at=f.at(n)) for n, order_id in enumerate(order_ids)
    ]
    await store.record_many(placed)
    # Every third order is backordered later on.
    backordered = order_ids[::3]
    await store.record_many(
        [replace(f.status(100, "backordered", "received"), order_id=o, data={"order_id": o, "status": "backordered",
                 "previous": "received"}) for o in backordered]
    )  # fmt: skip

    async def page(number: int, **filters: Any) -> tuple[int, list[str]]:
        found = await search_orders(store, OrderSearch(page=number, page_size=4, **filters))
        return found["total"], [summary["order_id"] for summary in found["orders"]]

    newest_first = list(reversed(backordered))
    assert await page(1, status="backordered") == (9, newest_first[:4])
    assert await page(3, status="backordered") == (9, newest_first[8:])
    assert await page(4, status="backordered") == (9, [])
    assert await page(1) == (25, list(reversed(order_ids))[:4])
    # Placed from minute 10 on, backordered: orders 12, 15, 18, 21, 24.
    assert await page(2, status="backordered", placed_from=f.at(10)) == (5, ["SO-00012"])
    found = await search_orders(store, OrderSearch(status="backordered", page_size=1))
    assert found["orders"][0]["email"] == "Ana@example.com" and found["orders"][0]["status"] == "backordered"
