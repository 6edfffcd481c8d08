"""One rebuild at a time across replicas: the lease in the store (real FerretDB), claimed, released, taken over."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.customer_service.projections.lease import RebuildLease, RebuildRunning
from services.customer_service.projections.rebuild import Rebuilder
from services.customer_service.projections.store import (
    GENERATION_COLLECTION,
    LEGACY_FIRST_GENERATION,
    ProjectionStore,
)
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
    # A database an earlier version filled: its first generation, g0, sharded (here over 2 collections).
    await database[f"{LEGACY_FIRST_GENERATION}_histories_001"].insert_one({"_id": "left-by-an-earlier-version"})
    store = ProjectionStore(database, shards=2)
    try:
        assert await store.generation() == LEGACY_FIRST_GENERATION  # still served and written
        await store.create_collections()
        for event in f.full_flow():
            await store.record(event)
        assert await store.history(f.ORDER_ID) is not None
        rebuilder = Rebuilder(store)
        first = await rebuilder.run(rebuilder.new_progress())
        second = await rebuilder.run(rebuilder.new_progress("ana"))
        assert (first.status, second.status) == ("done", "done")
        names = await database.list_collection_names()
        generations = {match["generation"] for name in names if (match := GENERATION_COLLECTION.match(name))}
        assert generations == {second.generation}
        # A new generation keeps each read model in one collection.
        assert sorted(name for name in names if name.startswith(f"{second.generation}_")) == [
            f"{second.generation}_{kind}_000" for kind in ("histories", "lookups", "summaries")
        ]
        assert first.replaced == LEGACY_FIRST_GENERATION
        assert second.replaced == first.generation and second.requested_by == "ana"
        assert await store.history(f.ORDER_ID) is not None
    finally:
        await mongo.drop_database(database.name)
