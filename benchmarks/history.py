"""Order-history read model on FerretDB: history latency, search scan cost, point-in-time replay, rebuild speed.

Run: ``uv run python -m benchmarks.history`` (MONGODB_URL, default mongodb://127.0.0.1:27017; ORDERS, default
10000). Loads ORDERS orders' events (13 to 17 each, as the services publish them) into the received-events log of a
fresh database, builds the read models with the rebuild (the same `apply` as the live consumer), then times
the HTTP API in process (httpx.ASGITransport, no Kafka). Drops the database at the end. Not a test.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from services.customer_service.entrypoints.http import customer_service_router
from services.customer_service.projections.events import ReceivedEvent, iso
from services.customer_service.projections.rebuild import Rebuilder, RebuildRunner
from services.customer_service.projections.store import ProjectionStore
from shared.telemetry.trace_context import OrderTraces

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

        sample = [
            ReceivedEvent(
                str(uuid.uuid4()),
                "customer_service",
                "CaseNoteAdded",
                iso(datetime.now(UTC)),
                f"BO-{rng.randrange(orders):06d}",
                {"case_id": "CASE-X", "note": "n", "agent_id": "a"},
            )
            for _ in range(200)
        ]
        live_started = time.perf_counter()
        for event in sample:
            await store.record(event)
        print(f"live consumer path:         {len(sample) / (time.perf_counter() - live_started):9.0f} events/s")

        app = FastAPI()
        traces = OrderTraces(client[name]["trace_contexts"])
        app.include_router(customer_service_router(store, RebuildRunner(rebuilder), traces))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
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


if __name__ == "__main__":
    asyncio.run(main())
