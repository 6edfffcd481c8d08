"""Two processes folding one order's history at the same time (an owner, and one that has not noticed yet that it
lost the partition), on the real FerretDB: every event lands in the history, none is lost to the other's write.
Two stores stand for the two processes (each has its own locks and caches)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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


class Requests(monitoring.CommandListener):
    """Counts the requests of one command on the collections `counted` accepts."""

    def __init__(self, command: str, counted: Callable[[str], bool]) -> None:
        self.command, self.counted, self.count = command, counted, 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == self.command and self.counted(str(event.command.get(self.command))):
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
    claims = Requests("insert", lambda collection: collection == CLAIMS)
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

        await assert_each_event_folded_once(other, flows, "refunded")
    finally:
        await counted.close()
        await mongo.drop_database(database)


async def assert_each_event_folded_once(
    store: ProjectionStore, flows: dict[str, list[ReceivedEvent]], status: str
) -> None:
    for order_id, flow in flows.items():
        history = await store.history(order_id)
        assert history is not None
        assert sorted(history["applied"]) == sorted(e.event_id for e in flow), order_id
        assert history["version"] == len(flow)
        assert history["status"] == status


async def test_new_orders_are_folded_without_reading_their_histories_and_a_redelivery_changes_nothing(
    mongo: AsyncMongoClient[dict[str, Any]], infrastructure: Infrastructure, unique: str
) -> None:
    """A batch that opens orders (OrderAccepted) writes their histories without looking for them first; one that
    exists after all (another topic's event came first, or the batch is redelivered to a restarted process) is
    folded from the store, each event once."""
    reads = Requests("find", lambda collection: "_histories_" in collection)
    counted: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infrastructure.mongodb_url, uuidRepresentation="standard", event_listeners=[reads]
    )
    database = f"test_opening_{unique}"
    owner, other = ProjectionStore(counted[database], shards=2), ProjectionStore(mongo[database], shards=2)
    await owner.create_collections()
    flows = {order_id: order_flow(order_id, 1) for order_id in (f"SO-{unique}-{i}" for i in range(8))}
    first = next(iter(flows))
    try:
        await other.record_many([flows[first][1]])  # its status change got there before its acceptance
        await owner.record_many([flow[0] for flow in flows.values()])
        assert reads.count == 1  # the one history that existed: its insert failed, and it was read to fold

        restarted = ProjectionStore(counted[database], shards=2)
        await restarted.record_many([flow[0] for flow in flows.values()])  # redelivered after a restart
        await restarted.record_many([flow[1] for order_id, flow in flows.items() if order_id != first])

        await assert_each_event_folded_once(other, flows, "received")
    finally:
        await counted.close()
        await mongo.drop_database(database)
