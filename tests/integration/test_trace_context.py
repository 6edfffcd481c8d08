"""Remembering an order's trace context on the real FerretDB, by many consumers at once."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import AsyncMongoClient

from shared.telemetry.trace_context import OrderTraces

CONTEXTS = [f"00-{index:032x}-{index:016x}-01" for index in range(1, 41)]


async def test_concurrent_remembers_of_one_key_all_agree_on_the_first_context_and_none_fails(
    mongo: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    database = mongo[f"test_traces_{unique}"]
    try:
        collection = database["trace_contexts"]
        # Four consumers (each with its own cache, like four subscriptions or replicas), ten remembers each.
        consumers = [OrderTraces(collection) for _ in range(4)]
        calls = [consumers[index % 4].remember("SO-RACE-1", context) for index, context in enumerate(CONTEXTS)]

        in_force = await asyncio.gather(*calls)

        stored = await collection.find({}).to_list()
        assert stored == [{"_id": "SO-RACE-1", "traceparent": in_force[0]}]
        assert set(in_force) == {in_force[0]} and in_force[0] in CONTEXTS
        # A consumer that arrives later, with a new cache, is told the same context.
        assert await OrderTraces(collection).remember("SO-RACE-1", CONTEXTS[-1]) == in_force[0]
    finally:
        await mongo.drop_database(database.name)


async def test_remembering_a_new_key_keeps_its_context_and_later_ones_do_not_replace_it(
    mongo: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    database = mongo[f"test_traces_{unique}"]
    try:
        traces = OrderTraces(database["trace_contexts"])

        assert await traces.remember("SO-1", CONTEXTS[0]) == CONTEXTS[0]
        assert await traces.remember("SO-1", CONTEXTS[1]) == CONTEXTS[0]
        assert await OrderTraces(database["trace_contexts"]).lookup("SO-1") == CONTEXTS[0]
        assert await traces.lookup("SO-UNKNOWN") is None
    finally:
        await mongo.drop_database(database.name)
