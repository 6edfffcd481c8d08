"""Two processes folding one order's history at the same time (an owner, and one that has not noticed yet that it
lost the partition), on the real FerretDB: every event lands in the history, none is lost to the other's write.
Two stores stand for the two processes (each has its own locks and caches)."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import AsyncMongoClient, monitoring

from services.customer_service.projections.events import ReceivedEvent
from services.customer_service.projections.store import CLAIMS, ProjectionStore
from tests.integration.conftest import Infrastructure
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


class ClaimRequests(monitoring.CommandListener):
    """Counts the requests that claim history versions (`CLAIMS`)."""

    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "insert" and event.command.get("insert") == CLAIMS:
            self.count += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def order_flow(order_id: str, steps: int) -> list[ReceivedEvent]:
    statuses = [None, "received", "reserved", "shipped", "delivered", "returned", "refunded"]
    return [
        f.accepted(order_id),
        *(
            f.event("orders", "OrderStatusChanged", n, {"status": statuses[n], "previous": statuses[n - 1]}, order_id)
            for n in range(1, steps + 1)
        ),
    ]


async def test_batches_of_many_orders_claim_in_one_request_and_two_writers_still_lose_nothing(
    mongo: AsyncMongoClient[dict[str, Any]], infrastructure: Infrastructure, unique: str
) -> None:
    """A batch's histories are claimed in one insert (one per order before); two writers folding batches of the
    same orders at once still lose no event (the batch's lost claims take the careful path)."""
    claims = ClaimRequests()
    counted: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infrastructure.mongodb_url, uuidRepresentation="standard", event_listeners=[claims]
    )
    database = f"test_batch_claims_{unique}"
    owner, other = ProjectionStore(counted[database], shards=2), ProjectionStore(mongo[database], shards=2)
    await owner.create_collections()
    flows = {order_id: order_flow(order_id, 6) for order_id in (f"SO-{unique}-{i}" for i in range(12))}
    try:
        await owner.record_many([flow[0] for flow in flows.values()])  # new histories: inserted, nothing claimed
        await owner.record_many([flow[1] for flow in flows.values()])
        assert claims.count == 1

        for step in (2, 4):
            await asyncio.gather(
                owner.record_many([flow[step] for flow in flows.values()]),
                other.record_many([flow[step + 1] for flow in flows.values()]),
            )
        await owner.record_many([flow[6] for flow in flows.values()])

        for order_id, flow in flows.items():
            history = await other.history(order_id)
            assert history is not None
            assert sorted(history["applied"]) == sorted(e.event_id for e in flow), order_id
            assert history["version"] == len(flow)
            assert history["status"] == "refunded"
    finally:
        await counted.close()
        await mongo.drop_database(database)
