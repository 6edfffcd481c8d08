"""Two processes folding one order's history at the same time (an owner, and one that has not noticed yet that it
lost the partition), on the real FerretDB: every event lands in the history, none is lost to the other's write.
Two stores stand for the two processes (each has its own locks and caches)."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import AsyncMongoClient

from services.customer_service.projections.store import ProjectionStore
from tests.unit.customer_service import factories as f


async def test_two_writers_of_one_history_lose_nothing(mongo: AsyncMongoClient[dict[str, Any]], unique: str) -> None:
    database = mongo[f"test_writers_{unique}"]
    owner, other = ProjectionStore(database, shards=2), ProjectionStore(database, shards=2)
    await owner.create_collections()
    events = f.full_flow()
    await owner.record(events[0])
    try:
        for first, second in zip(events[1::2], events[2::2], strict=False):
            await asyncio.gather(owner.record(first), other.record(second))
        if len(events) % 2 == 0:
            await owner.record(events[-1])

        history = await owner.history(f.ORDER_ID)
        assert history is not None
        assert sorted(history["applied"]) == sorted(e.event_id for e in events)
        assert history["version"] == len(events)
    finally:
        await mongo.drop_database(database.name)
