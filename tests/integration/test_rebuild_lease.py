"""One rebuild at a time across replicas: the lease in the store (real FerretDB), claimed, released, taken over."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.customer_service.projections.lease import RebuildLease, RebuildRunning
from services.customer_service.projections.rebuild import Rebuilder
from services.customer_service.projections.store import ProjectionStore
from tests.unit.customer_service import factories as f


async def test_a_second_claim_is_refused_until_the_first_is_released(
    mongo: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    database = mongo[f"test_lease_{unique}"]
    # Two replicas: two lease objects over the same collection.
    here, there = RebuildLease(database["projection_meta"]), RebuildLease(database["projection_meta"])
    try:
        await here.claim("RB-1")
        with pytest.raises(RebuildRunning, match="RB-1"):
            await there.claim("RB-2")
        async with here.held("RB-1"):
            with pytest.raises(RebuildRunning):
                await there.claim("RB-2")
        await there.claim("RB-2")  # released
    finally:
        await mongo.drop_database(database.name)


async def test_a_lease_whose_holder_died_is_taken_over_once_it_expires(
    mongo: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    database = mongo[f"test_lease_{unique}"]
    try:
        await RebuildLease(database["projection_meta"], lease_s=0.2).claim("RB-DEAD")  # never renewed nor released
        survivor = RebuildLease(database["projection_meta"])

        async def take_over() -> bool:
            try:
                await survivor.claim("RB-NEXT")
            except RebuildRunning:
                return False
            return True

        deadline = asyncio.get_running_loop().time() + 10
        while not await take_over():
            assert asyncio.get_running_loop().time() < deadline, "an expired lease was never taken over"
            await asyncio.sleep(0.1)
    finally:
        await mongo.drop_database(database.name)


async def test_a_rebuild_leaves_only_the_new_generation(mongo: AsyncMongoClient[dict[str, Any]], unique: str) -> None:
    database = mongo[f"test_generations_{unique}"]
    store = ProjectionStore(database, shards=2)
    try:
        await store.create_collections()
        for event in f.full_flow():
            await store.record(event)
        rebuilder = Rebuilder(store)
        first = await rebuilder.run(rebuilder.new_progress())
        second = await rebuilder.run(rebuilder.new_progress("ana"))
        assert (first.status, second.status) == ("done", "done")
        generations = {name.split("_")[0] for name in await database.list_collection_names() if name[0] == "g"}
        assert generations == {second.generation}
        assert second.replaced == first.generation and second.requested_by == "ana"
        assert await store.history(f.ORDER_ID) is not None
    finally:
        await mongo.drop_database(database.name)
