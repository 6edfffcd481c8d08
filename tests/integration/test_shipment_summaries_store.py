"""The logistics read model's writes on a real FerretDB: two owners for a moment (a rebalance in flight: two
processes) writing the same new shipments at once both succeed, and every summary lands whole."""

from __future__ import annotations

import asyncio
import multiprocessing
from typing import Any

from pymongo import AsyncMongoClient, MongoClient

from shared.batched_writes import replace_all
from tests.integration.eventstore_fixtures import MONGODB_URL

ROUNDS, SHIPMENTS = 8, 40


def _write_in_process(database: str, barrier: Any, failures: Any) -> None:
    async def write() -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(MONGODB_URL, socketTimeoutMS=20_000)
        collection = client[database]["shipment_summaries"]
        for round_ in range(ROUNDS):
            documents = [{"_id": f"S-{round_}-{n}", "status": "requested", "version": 1} for n in range(SHIPMENTS)]
            await asyncio.to_thread(barrier.wait, 30)
            await replace_all(collection, documents)
        await client.close()

    try:
        asyncio.run(write())
    except Exception as failure:
        failures.put(repr(failure))


def test_two_processes_inserting_the_same_new_summaries_at_once_both_land(unique: str) -> None:
    database = f"summaries_{unique}"
    client: MongoClient[dict[str, Any]] = MongoClient(MONGODB_URL)
    client[database].create_collection("shipment_summaries")
    context = multiprocessing.get_context("spawn")
    barrier, failures = context.Barrier(2), context.Queue()
    writers = [context.Process(target=_write_in_process, args=(database, barrier, failures)) for _ in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)

    assert failures.empty(), failures.get()
    stored = {d["_id"]: d["version"] for d in client[database]["shipment_summaries"].find({})}
    assert stored == {f"S-{r}-{n}": 1 for r in range(ROUNDS) for n in range(SHIPMENTS)}
    client.close()
