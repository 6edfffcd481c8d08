"""Order-history read model on FerretDB: history latency, search scan cost, point-in-time replay, rebuild speed,
and the live fold through Kafka.

Run: ``uv run python -m benchmarks.history`` (MONGODB_URL, default mongodb://127.0.0.1:27017; ORDERS, default
10000; KAFKA_BOOTSTRAP_SERVERS, default 127.0.0.1:9092; LIVE_ORDERS, default 1000). Loads ORDERS orders' events
(13 to 17 each, as the services publish them) into the received-events log of a fresh database, builds the read
models with the rebuild (the same `apply` as the live consumer), then times the HTTP API in process
(httpx.ASGITransport, no Kafka). Drops the database at the end.

The live figure goes the way production does: a customer_service process on a fresh namespace (TOPIC_PREFIX /
DATABASE_PREFIX), LIVE_ORDERS orders' events published as the services would publish them to the internal topics,
folded by its consumer and handlers; timed from the first publish until the histories of the orders holding the
last message of each partition show every event (GET /orders/{id}/history), with the store round trips per event
from its /metrics. Not a test.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient

from cli.tokens import bearer
from services.customer_service.entrypoints.http import customer_service_router
from services.customer_service.policies import TOPICS
from services.customer_service.projections.events import ReceivedEvent, iso
from services.customer_service.projections.rebuild import Rebuilder, RebuildRunner
from services.customer_service.projections.store import ProjectionStore
from services.customer_service.projections.timeline import entries_for
from shared.http.auth import install_access_control
from shared.settings import ServiceSettings
from shared.telemetry.trace_context import OrderTraces
from tests.kafka_probe import envelope, producer
from tests.stack import RunningStack

REQUESTS = 1_000
LOAD_BATCH = 2_000


def order_events(n: int, rng: random.Random, start: datetime) -> list[ReceivedEvent]:
    """One order's life as customer_service receives it: placed → reserved → shipped → tracked → delivered,
    some with a support case."""
    order_id, sku = f"BO-{n:06d}", f"SKU-{rng.randrange(500):03d}"
    shipment = {"shipment_id": f"{order_id}-LIS-1-1", "warehouse": "LIS-1"}
    lines = [{"sku": sku, "quantity": rng.randint(1, 3)}]
    tracking = f"TN{n:08d}"
    clock = start + timedelta(minutes=n)
    events: list[ReceivedEvent] = []

    def add(source: str, type_: str, data: dict[str, Any], minutes: float = 1) -> None:
        nonlocal clock
        clock += timedelta(minutes=minutes)
        events.append(
            ReceivedEvent(str(uuid.uuid4()), source, type_, iso(clock), order_id, {"order_id": order_id, **data})
        )

    customer = {"id": f"C-{rng.randrange(3000)}", "email": f"c{rng.randrange(3000)}@example.com", "name": "Ana"}
    add(
        "orders",
        "OrderAccepted",
        {
            "customer": customer,
            "lines": [{**lines[0], "unit_price": "19.90"}],
            "shipping_address": {
                "name": "Ana",
                "line1": "Rua 1",
                "line2": None,
                "city": "Lisboa",
                "postal_code": "1100",
                "country": "PT",
            },
            "currency": "EUR",
            "total": "39.80",
            "shipping_method": "standard",
            "promised_delivery_by": "2026-12-02",
        },
    )
    add("orders", "StockReservationRequested", {"lines": lines}, 0.01)
    add("orders", "OrderStatusChanged", {"status": "received", "previous": None}, 0.01)
    add("inventory", "StockReserved", {"allocations": [{**lines[0], "warehouse": "LIS-1"}]})
    add("orders", "ShipmentRequested", {**shipment, "lines": lines})
    add("orders", "OrderStatusChanged", {"status": "reserved", "previous": "received"}, 0.01)
    add("shipping", "ShipmentCreated", {**shipment, "lines": lines, "promised_delivery_by": "2026-12-02"})
    add("shipping", "ShipmentPicked", shipment, 60)
    add("shipping", "ShipmentPacked", shipment, 10)
    add("shipping", "ShipmentDispatched", {**shipment, "lines": lines, "carrier": "CTT", "tracking_number": tracking})
    add("orders", "OrderStatusChanged", {"status": "shipped", "previous": "reserved"}, 0.01)
    for status in ["in_transit", "out_for_delivery", "delivered"][-rng.randint(1, 3) :]:
        add(
            "shipping",
            "ShipmentTrackingUpdated",
            {
                **shipment,
                "tracking_number": tracking,
                "carrier": "CTT",
                "status": status,
                "location": "Lisboa",
                "detail": None,
                "reported_at": iso(clock),
                "applied": True,
            },
            600,
        )
    add(
        "shipping",
        "ShipmentDelivered",
        {**shipment, "lines": lines, "delivered_at": iso(clock), "promised_delivery_by": "2026-12-02", "late": False},
    )
    add("orders", "OrderStatusChanged", {"status": "delivered", "previous": "shipped"}, 0.01)
    if rng.random() < 0.2:
        add(
            "customer_service",
            "CaseOpened",
            {"case_id": f"CASE-{n}", "category": "late_delivery", "summary": "where is my order", "agent_id": "ag-1"},
        )
    return events


async def timed(calls: int, call: Callable[[int], Awaitable[None]]) -> list[float]:
    latencies = []
    for i in range(calls):
        started = time.perf_counter()
        await call(i)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def describe(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):7.2f} ms   p99 {p99:7.2f} ms   (n={len(ordered)})"


async def main() -> None:
    url = os.environ.get("MONGODB_URL", "mongodb://127.0.0.1:27017")
    orders = int(os.environ.get("ORDERS", "10000"))
    name = f"bench_history_{uuid.uuid4().hex[:8]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, uuidRepresentation="standard")
    store = ProjectionStore(client[name])
    rng = random.Random(42)
    try:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        events = [event for n in range(orders) for event in order_events(n, rng, start)]
        print(f"{orders} orders, {len(events)} events ({len(events) / orders:.1f} per order) into {url}/{name}")

        started = time.perf_counter()
        for first in range(0, len(events), LOAD_BATCH):
            await store.log.append_many(events[first : first + LOAD_BATCH])
        print(f"received log loaded:        {len(events) / (time.perf_counter() - started):9.0f} events/s")

        rebuilder = Rebuilder(store)
        result = await rebuilder.run(rebuilder.new_progress())
        assert result.status == "done", result.error
        print(f"rebuild (replay + write):   {result.events_per_second:9.0f} events/s  ({result.processed} events)")

        app = FastAPI()
        # As in the service: the token is checked on every request, so its cost is in the figures.
        install_access_control(app, settings := ServiceSettings(), max_body_bytes=settings.max_request_bytes)
        traces = OrderTraces(client[name]["trace_contexts"])
        app.include_router(customer_service_router(store, RebuildRunner(rebuilder), traces))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=bearer("manager")) as http:
            ids = [f"BO-{rng.randrange(orders):06d}" for _ in range(REQUESTS)]

            async def get_history(i: int) -> None:
                assert (await http.get(f"/orders/{ids[i]}/history")).status_code == 200

            async def get_as_of(i: int) -> None:
                at = iso(start + timedelta(minutes=int(ids[i][3:]) + 80))
                response = await http.get(f"/orders/{ids[i]}/history", params={"as_of": at})
                assert response.status_code == 200, response.text

            async def by_tracking(i: int) -> None:
                found = await http.get("/orders", params={"tracking_number": f"TN{int(ids[i][3:]):08d}"})
                assert found.json()["total"] == 1

            async def by_status(i: int) -> None:
                assert (await http.get("/orders", params={"status": "delivered", "page_size": 20})).status_code == 200

            print(f"GET history:                {describe(await timed(REQUESTS, get_history))}")
            print(f"GET history?as_of=:         {describe(await timed(200, get_as_of))}")
            print(f"GET /orders?tracking=:      {describe(await timed(200, by_tracking))}")
            print(f"GET /orders?status= (scan): {describe(await timed(10, by_status))}")
    finally:
        await client.drop_database(name)
        await client.close()
    await live_fold(int(os.environ.get("LIVE_ORDERS", "1000")))


# The live fold: through Kafka and customer_service's own consumer and handlers.

TOPIC_OF = {topic.owner: topic.name for topic, _ in TOPICS}
POLL_S = 0.2


# What ShipmentRequested carries on the wire besides what `order_events` puts in it (the projections do not read
# these fields, but the consumer's contract requires them).
SHIPMENT_DELIVERY = {
    "shipping_address": {"name": "Ana", "line1": "Rua 1", "line2": None, "city": "Lisboa", "postal_code": "1100",
                         "country": "PT"},
    "shipping_method": "standard",
    "promised_delivery_by": "2026-12-02",
}  # fmt: skip


def wire_data(event: ReceivedEvent) -> dict[str, Any]:
    """The payload as the owning service publishes it."""
    return {**SHIPMENT_DELIVERY, **event.data} if event.type == "ShipmentRequested" else event.data


def timeline_ids(event: ReceivedEvent) -> set[str]:
    return {entry["event_id"] for entry in entries_for(event)}


@dataclass
class LiveOrders:
    """The events to publish, and per order the event ids its history's timeline must show once folded."""

    events: list[ReceivedEvent]
    expected: dict[str, set[str]]

    @classmethod
    def make(cls, orders: int, first: int = 0) -> LiveOrders:
        # In the past: `occurred_at` may not be more than a day ahead of the consumer's clock.
        start = datetime.now(UTC) - timedelta(days=30)
        rng = random.Random(7)
        events = [event for n in range(first, first + orders) for event in order_events(n, rng, start)]
        expected: dict[str, set[str]] = {}
        for event in events:
            expected.setdefault(event.order_id, set()).update(timeline_ids(event))
        return cls(events, expected)


async def publish(kafka: AIOKafkaProducer, prefix: str, events: list[ReceivedEvent]) -> set[str]:
    """Sends every event (keyed by order id, as the services do); returns the orders holding the last message of
    some partition: once their histories are complete, every partition has been folded up to its end."""
    futures = []
    for event in events:
        value = envelope(event.type, wire_data(event), event.event_id, event.occurred_at)
        futures.append(await kafka.send(prefix + TOPIC_OF[event.source], value, key=event.order_id.encode()))
    metadata = await asyncio.gather(*futures)
    last: dict[tuple[str, int], tuple[int, str]] = {}
    for event, sent in zip(events, metadata, strict=True):
        place = (sent.topic, sent.partition)
        if place not in last or sent.offset > last[place][0]:
            last[place] = (sent.offset, event.order_id)
    return {order_id for _, order_id in last.values()}


async def complete(http: httpx.AsyncClient, order_id: str, expected: set[str]) -> bool:
    response = await http.get(f"/orders/{order_id}/history")
    if response.status_code != 200:
        return False
    return expected <= {entry["event_id"] for entry in response.json()["timeline"]}


async def wait_complete(http: httpx.AsyncClient, orders: LiveOrders, watched: set[str], within: float) -> float:
    """perf_counter() when every watched history was seen complete (inf if not within `within` seconds)."""
    deadline = time.perf_counter() + within
    waiting = set(watched)
    while waiting and time.perf_counter() < deadline:
        waiting = {o for o in sorted(waiting) if not await complete(http, o, orders.expected[o])}
        if waiting:
            await asyncio.sleep(POLL_S)
    return time.perf_counter() if not waiting else float("inf")


async def store_commands(http: httpx.AsyncClient) -> int:
    text = (await http.get("/metrics")).text
    return sum(
        int(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "fulfillment_store_commands_total"
    )


async def live_fold(orders: int) -> None:
    namespace = f"bhlive{uuid.uuid4().hex[:6]}"
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MONGODB_URL": os.environ.get("MONGODB_URL", "mongodb://127.0.0.1:27017"),
        "TOPIC_PREFIX": f"{namespace}.",
        "DATABASE_PREFIX": f"{namespace}_",
    }
    live = LiveOrders.make(orders)
    warm = LiveOrders.make(1, first=orders)  # one order first: the consumer group is assigned before timing
    with tempfile.TemporaryDirectory() as logs:
        stack = RunningStack(env, Path(logs))
        try:
            stack.start("customer_service")
            async with (
                httpx.AsyncClient(
                    base_url=stack.url("customer_service"), timeout=30, headers=bearer("manager")
                ) as http,
                producer(bootstrap) as kafka,
            ):
                await publish(kafka, env["TOPIC_PREFIX"], warm.events)
                await wait_complete(http, warm, set(warm.expected), within=60)
                await measure_live(http, kafka, env["TOPIC_PREFIX"], live)
        finally:
            stack.stop()


async def measure_live(http: httpx.AsyncClient, kafka: AIOKafkaProducer, prefix: str, live: LiveOrders) -> None:
    commands_before = await store_commands(http)
    started = time.perf_counter()
    tails = await publish(kafka, prefix, live.events)
    published = time.perf_counter() - started
    # The last order published first, alone (it is among the last folded), so that polling the other tails does
    # not compete with the fold it measures.
    await wait_complete(http, live, {live.events[-1].order_id}, within=600)
    done = await wait_complete(http, live, tails, within=600)
    commands = await store_commands(http) - commands_before
    incomplete = [o for o in sorted(live.expected) if not await complete(http, o, live.expected[o])]
    count = len(live.events)
    print(
        f"live fold via Kafka:        {count / (done - started):9.0f} events/s  ({count} events of "
        f"{len(live.expected)} orders; published in {published:.1f} s, folded by {done - started:.1f} s; "
        f"{commands / count:.2f} store round trips per event; {len(incomplete)} histories incomplete)"
    )


if __name__ == "__main__":
    asyncio.run(main())
