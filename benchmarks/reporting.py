"""Reporting read model: KPI query latency, fold rate (in memory and live through Kafka), digest generation time.

Run: ``uv run python -m benchmarks.reporting [--orders 100000] [--days 60] [--live-orders 2000] [--queries 100]
[--live-replicas 1]`` against the local stack (`fulfillment-infra up`; MONGODB_URL / KAFKA_BOOTSTRAP_SERVERS for other
servers). Not a test.

1. ORDERS orders' events over DAYS days are generated as the services publish them (accepted, reserved, shipment
   created, dispatched, delivered, stock levels; 8 % cancelled, 6 % returned and refunded, 3 % with a case).
2. In memory: they are folded by `PartitionModel` per partition in batches of 500, as the live path folds a batch
   (events/s of the domain alone), with the service's garbage collector settings (`tune_collector`).
3. The folded partitions are written to a fresh database the way a rebuild writes them, then the KPI queries run
   in process against FerretDB (`KpiQueries` over `ReadModelReader`): warm (this process's bucket cache and what
   the queries keep derived from it, as a running replica asked again), recomputed (the buckets at hand, nothing
   derived: a new `KpiQueries` over the warm reader, as after the days asked changed) and cold (a new reader per
   query: every bucket read from the store). p50 / p99 per query.
   The process then holds what a replica owning every partition holds (the models, not the generated events),
   settled as an owner settles a loaded partition (`settle_loaded_state`); the full garbage collections that fell
   into the queries are counted, since one of them is what a p99 far above its p50 usually is.
4. A digest (weekly) is produced from that database: the queries, the exceptions and the three renderings.
5. Live: a reporting process on a fresh namespace; LIVE_ORDERS orders' events published to the internal topics;
   timed from the first publish until GET /kpis shows every order and every delivery (events/s), and the CPU the
   reporting processes used meanwhile (events per CPU second: steadier than wall time on a shared machine).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from cli.tokens import bearer
from deploy.local.layout import LocalLayout
from services.reporting.application import PartitionModel
from services.reporting.config import ReportingSettings
from services.reporting.digests.render import to_csv, to_html, to_pdf
from services.reporting.digests.service import Digests
from services.reporting.domain.digest import DigestPeriod
from services.reporting.domain.facts import Observed
from services.reporting.projections.heap import settle_loaded_state, tune_collector
from services.reporting.projections.queries import KpiQueries
from services.reporting.projections.reader import ReadModelReader
from services.reporting.projections.rebuild import write_generation
from services.reporting.projections.reports import ReportStore
from services.reporting.projections.store import ReportingStore
from shared.messaging.broker import ensure_topics
from shared.messaging.ownership import partition_of
from tests.kafka_probe import producer
from tests.kafka_users import security_for
from tests.stack import RunningStack

PARTITIONS = 6
BATCH = 500
WAREHOUSES = ("LIS-1", "MAD-1", "PAR-1")
CARRIERS = ("DHL", "UPS", "CTT")
ADDRESS = {"name": "Ana", "line1": "Rua 1", "line2": None, "city": "Lisboa", "postal_code": "1100", "country": "PT"}

Event = tuple[str, str, Observed]  # topic, key, event


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Shop:
    """Deterministic synthetic traffic; stock levels per sku x warehouse follow the orders."""

    def __init__(self, seed: int, start: datetime, days: int, skus: int = 60) -> None:
        self.rng = random.Random(seed)
        self.start, self.days = start, days
        self.skus = [f"SKU-{n:03d}" for n in range(skus)]
        self.levels: dict[tuple[str, str], list[int]] = {}

    def _event(self, source: str, type_: str, at: datetime, data: dict[str, Any]) -> Observed:
        return Observed(str(uuid.uuid4()), source, type_, iso(at), data)

    def _level(self, sku: str, warehouse: str, at: datetime, cause: str, on_hand: int, allocated: int) -> Event:
        self.levels[(sku, warehouse)] = [on_hand, allocated]
        data = {"sku": sku, "warehouse": warehouse, "on_hand": on_hand, "allocated": allocated,
                "available": on_hand - allocated, "cause": cause, "order_id": None}  # fmt: skip
        return ("inventory.events.v1", sku, self._event("inventory", "StockLevelChanged", at, data))

    def order(self, n: int, total: int) -> list[Event]:
        rng = self.rng
        order_id = f"BO-{n:07d}"
        placed = self.start + timedelta(seconds=self.days * 86400 * n / total)
        sku, quantity = rng.choice(self.skus), rng.randint(1, 3)
        warehouse, carrier = rng.choice(WAREHOUSES), rng.choice(CARRIERS)
        method = "express" if rng.random() < 0.2 else "standard"
        promised = (placed + timedelta(days=3)).date().isoformat()
        lines = [{"sku": sku, "quantity": quantity}]
        customer = f"C-{rng.randrange(max(10, total // 3)):06d}"
        out: list[Event] = []

        def add(topic: str, source: str, type_: str, at: datetime, **data: Any) -> None:
            out.append((topic, order_id, self._event(source, type_, at, {"order_id": order_id, **data})))

        add("orders.events.v1", "orders", "OrderAccepted", placed,
            customer={"id": customer, "email": f"{customer}@example.com", "name": "Ana"},
            shipping_address=ADDRESS, lines=[{**lines[0], "unit_price": "19.90"}], currency="EUR",
            total=f"{19.90 * quantity:.2f}", shipping_method=method, promised_delivery_by=promised)  # fmt: skip
        on_hand, allocated = self.levels.get((sku, warehouse), [10_000, 0])
        at = placed + timedelta(minutes=rng.randint(1, 30))
        add("inventory.events.v1", "inventory", "StockReserved", at,
            allocations=[{"sku": sku, "warehouse": warehouse, "quantity": quantity}])  # fmt: skip
        out.append(self._level(sku, warehouse, at, "allocated", on_hand, allocated + quantity))
        shipment = f"{order_id}-1"
        add("shipping.events.v1", "shipping", "ShipmentCreated", at + timedelta(minutes=1), shipment_id=shipment,
            warehouse=warehouse, lines=lines, promised_delivery_by=promised)  # fmt: skip
        if rng.random() < 0.08:
            cancelled = at + timedelta(hours=1)
            add("orders.events.v1", "orders", "OrderCancelled", cancelled, reason="customer_changed_mind",
                requested_by="customer", refund_amount="0", currency="EUR")  # fmt: skip
            add("shipping.events.v1", "shipping", "ShipmentCancelled", cancelled, shipment_id=shipment,
                warehouse=warehouse, reason="order cancelled")  # fmt: skip
            out.append(self._level(sku, warehouse, cancelled, "released", on_hand, allocated))
            return out
        dispatched = at + timedelta(hours=rng.randint(2, 40))
        add("shipping.events.v1", "shipping", "ShipmentDispatched", dispatched, shipment_id=shipment,
            warehouse=warehouse, lines=lines, carrier=carrier, tracking_number=f"TN{n:09d}")  # fmt: skip
        level = self.levels[(sku, warehouse)]
        out.append(self._level(sku, warehouse, dispatched, "shipped", level[0] - quantity, level[1] - quantity))
        delivered = dispatched + timedelta(hours=rng.randint(12, 80))
        add("shipping.events.v1", "shipping", "ShipmentDelivered", delivered, shipment_id=shipment,
            warehouse=warehouse, lines=lines, delivered_at=iso(delivered), promised_delivery_by=promised,
            late=delivered.date().isoformat() > promised)  # fmt: skip
        if rng.random() < 0.06:
            ret = f"R-{order_id}"
            add("orders.events.v1", "orders", "ReturnApproved", delivered + timedelta(days=1), return_id=ret,
                lines=lines, reason="wrong_size", requested_by="customer")  # fmt: skip
            received = delivered + timedelta(days=3)
            add("orders.events.v1", "orders", "ReturnReceived", received, return_id=ret, resellable=lines, damaged=[])
            add("orders.events.v1", "orders", "RefundIssued", received + timedelta(hours=5), return_id=ret,
                amount=f"{19.90 * quantity:.2f}", currency="EUR", payment_reference="pi")  # fmt: skip
        if rng.random() < 0.03:
            case = f"K-{order_id}"
            opened = dispatched + timedelta(hours=6)
            add("customer_service.events.v1", "customer_service", "CaseOpened", opened, case_id=case,
                category="late_delivery", summary="where is it", agent_id="a1")  # fmt: skip
            add("customer_service.events.v1", "customer_service", "CaseResolved", opened + timedelta(hours=20),
                case_id=case, outcome="ok", agent_id="a1")  # fmt: skip
        return out


def generate(orders: int, days: int, seed: int = 12) -> tuple[list[Event], date, date]:
    start = datetime.combine(date.today() - timedelta(days=days + 10), datetime.min.time(), UTC)
    shop = Shop(seed, start, days)
    events = [event for n in range(orders) for event in shop.order(n, orders)]
    events.sort(key=lambda e: e[2].occurred_at)
    return events, start.date(), (start + timedelta(days=days)).date()


def fold_in_memory(events: list[Event], settings: ReportingSettings) -> tuple[dict[int, PartitionModel], float]:
    models = {p: PartitionModel(p, settings.ship_by_rule(), settings.replenishment_policy()) for p in range(PARTITIONS)}
    by_partition: dict[int, list[Observed]] = {p: [] for p in range(PARTITIONS)}
    for _, key, event in events:
        by_partition[partition_of(key.encode(), PARTITIONS)].append(event)
    started = time.perf_counter()
    for partition, observed in by_partition.items():
        for index in range(0, len(observed), BATCH):
            models[partition].fold(observed[index : index + BATCH])
    return models, time.perf_counter() - started


async def write(store: ReportingStore, models: dict[int, PartitionModel]) -> None:
    """As a rebuild writes a generation."""
    generation = await store.active_generation()
    await store.create_collections(generation)
    await write_generation(store, generation, models)


def describe(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms"


class FullCollections:
    """The full garbage collections of this process while it is on, and how long each took."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self._observe)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._observe)

    def _observe(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)

    def describe(self) -> str:
        longest = max(self.pauses, default=0.0)
        return f"{len(self.pauses)} full garbage collections during the queries, the longest {longest * 1000:.0f} ms"


async def timed(count: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        latencies.append(time.perf_counter() - started)
    return latencies


async def query_benchmark(
    store: ReportingStore, settings: ReportingSettings, first: date, last: date, count: int
) -> None:
    rule, policy = settings.ship_by_rule(), settings.replenishment_policy()
    warm = KpiQueries(ReadModelReader(store), rule, policy)
    month = (last - timedelta(days=29), last)
    before = (last - timedelta(days=39), last - timedelta(days=10))
    then = f"{before[1].isoformat()}T13:30:00.000000Z"
    page5: str | None = None
    for _ in range(4):
        page5 = (await warm.kpis("fulfillment", *month, explain=True, cursor=page5)).get("next_cursor")
    cases: list[tuple[str, Callable[[KpiQueries], Awaitable[Any]]]] = [
        ("fulfillment, 30 days", lambda q: q.kpis("fulfillment", *month)),
        ("fulfillment, 30 days by day", lambda q: q.kpis("fulfillment", *month, by="day")),
        ("fulfillment, whole range by week", lambda q: q.kpis("fulfillment", first, last, by="week")),
        ("returns, 30 days", lambda q: q.kpis("returns", *month)),
        ("customers, 30 days (+ lifetime)", lambda q: q.kpis("customers", *month)),
        ("support, 30 days", lambda q: q.kpis("support", *month)),
        ("inventory, 30 days", lambda q: q.kpis("inventory", *month)),
        ("replenishment", lambda q: q.replenishment(today=last)),
        # As known at a past instant: the days whose orders were still moving then read their rows.
        ("fulfillment, 30 days as of 10 d ago", lambda q: q.kpis("fulfillment", *before, as_of=then)),
        ("customers, 30 days as of 10 d ago", lambda q: q.kpis("customers", *before, as_of=then)),
        ("inventory, 30 days as of 10 d ago", lambda q: q.kpis("inventory", *before, as_of=then)),
        ("drill-down, returns 30 days, 100 rows", lambda q: q.kpis("returns", *month, explain=True, limit=100)),
        ("drill-down, page 5 of 100 rows", lambda q: q.kpis("fulfillment", *month, explain=True, cursor=page5)),
    ]
    for name, call in cases:
        await call(warm)  # fills this process's cache, as a replica's first query does
        warm_latencies = await timed(count, lambda call=call: call(warm))  # type: ignore[misc]
        # The buckets at hand but nothing derived from them: what a query costs after the days it reads changed.
        recomputed_latencies = await timed(
            max(3, count // 10),
            lambda call=call: call(KpiQueries(warm.reader, rule, policy)),  # type: ignore[misc]
        )
        cold_latencies = await timed(
            max(3, count // 10),
            lambda call=call: call(KpiQueries(ReadModelReader(store), rule, policy)),  # type: ignore[misc]
        )
        print(f"  {name:40s} warm {describe(warm_latencies)}   recomputed {describe(recomputed_latencies)}   "
              f"cold {describe(cold_latencies)}")  # fmt: skip


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU time of the processes so far (Linux `/proc`; None elsewhere)."""
    try:
        ticks = 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


async def live(orders: int, days: int, bootstrap: str, mongodb_url: str, replicas: int = 1) -> None:
    events, _, _ = generate(orders, days, seed=99)
    namespace = f"bench{uuid.uuid4().hex[:6]}"
    env = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "MONGODB_URL": mongodb_url, "TOPIC_PREFIX": f"{namespace}.",
           "DATABASE_PREFIX": f"{namespace}_", "DIGEST_SCHEDULE": "false"}  # fmt: skip
    stack = RunningStack(env, Path(tempfile.mkdtemp(prefix="bench-reporting-")), replicas=replicas)
    expected_orders = sum(1 for _, _, e in events if e.type == "OrderAccepted")
    expected_deliveries = sum(1 for _, _, e in events if e.type == "ShipmentDelivered")
    try:
        # The backlog first, then the service: what is timed is its consumption, not how fast this script publishes.
        await ensure_topics(bootstrap, None, 1, prefix=f"{namespace}.", security=security_for())
        first, last = min(e.occurred_at for *_, e in events)[:10], max(e.occurred_at for *_, e in events)[:10]
        async with producer(bootstrap) as kafka:
            for topic, key, e in events:
                body = {"event_id": e.event_id, "type": e.type, "occurred_at": e.occurred_at, "data": e.data}
                await kafka.send(f"{namespace}.{topic}", json.dumps(body).encode(), key=key.encode())
            await kafka.flush()
        started = time.perf_counter()
        stack.start("reporting")
        ready = time.perf_counter()
        processes = [stack.services["reporting"], *stack.extra.get("reporting", [])]
        pids = [process.proc.pid for process in processes if process.proc is not None]
        cpu_at_ready = cpu_seconds(pids)
        async with httpx.AsyncClient(base_url=stack.url("reporting"), headers=bearer("manager"), timeout=30) as client:
            while True:
                found = (await client.get("/kpis/fulfillment", params={"from": first, "to": last})).json()["total"]
                if found["orders"] >= expected_orders and found["shipments_delivered"] >= expected_deliveries:
                    break
                await asyncio.sleep(0.2)
        done = time.perf_counter()
        cpu_at_done = cpu_seconds(pids)
        print(
            f"  live fold: a backlog of {len(events)} events ({orders} orders) on the topics; the service was ready "
            f"after {ready - started:.1f}s and had it all in its KPIs {done - ready:.1f}s later: "
            f"{len(events) / (done - ready):,.0f} events/s ({replicas} process(es), {PARTITIONS} partitions)"
        )
        if cpu_at_ready is not None and cpu_at_done is not None and cpu_at_done > cpu_at_ready:
            used = cpu_at_done - cpu_at_ready
            print(f"  live fold CPU: {used:.1f} s of the reporting process(es): {len(events) / used:,.0f} events/CPU s")
    finally:
        stack.stop()


async def main(args: argparse.Namespace) -> None:
    # The local stack's servers (fulfillment-infra honours the same variables), unless told otherwise.
    layout = LocalLayout.from_env()
    mongodb_url = os.environ.get("MONGODB_URL", f"mongodb://127.0.0.1:{layout.mongo_port}")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{layout.kafka_port}")
    settings = ReportingSettings()
    tune_collector()  # as the service's process does
    started = time.perf_counter()
    events, first, last = generate(args.orders, args.days)
    print(f"{args.orders} orders over {args.days} days: {len(events)} events generated in "
          f"{time.perf_counter() - started:.1f}s")  # fmt: skip
    models, seconds = fold_in_memory(events, settings)
    print(f"  in-memory fold (PartitionModel, batches of {BATCH}): {len(events) / seconds:,.0f} events/s")
    del events  # a replica holds its models, never the events they were folded from
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url, uuidRepresentation="standard")
    name = f"bench_reporting_{uuid.uuid4().hex[:6]}"
    try:
        store = ReportingStore(client[name], PARTITIONS)
        started = time.perf_counter()
        await write(store, models)
        print(f"  written to FerretDB as a rebuild writes it in {time.perf_counter() - started:.1f}s")
        print(f"  {len(gc.get_objects()):,} objects tracked by the garbage collector; settled as an owner settles them")
        settle_loaded_state()
        with FullCollections() as collections:
            await query_benchmark(store, settings, first, last, args.queries)
        print(f"  {collections.describe()}")
        digests = Digests(
            KpiQueries(ReadModelReader(store), settings.ship_by_rule(), settings.replenishment_policy()),
            ReportStore(client[name]),
            None,
            settings.support_case_target_hours,
        )
        started = time.perf_counter()
        content = await digests.content(DigestPeriod.weekly(last - timedelta(days=7)))
        made = time.perf_counter() - started
        started = time.perf_counter()
        sizes = [len(to_html(content)), len(to_csv(content)), len(to_pdf(content))]
        rendered = time.perf_counter() - started
        print(f"  weekly digest: content {made * 1000:.0f} ms (cold cache), HTML+CSV+PDF {rendered * 1000:.0f} ms "
              f"({sizes[0]:,} / {sizes[1]:,} / {sizes[2]:,} bytes)")  # fmt: skip
    finally:
        await client.drop_database(name)
        await client.close()
    if args.live_orders:
        await live(args.live_orders, max(7, args.days // 4), bootstrap, mongodb_url, args.live_replicas)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reporting", description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--live-orders", type=int, default=2_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--live-replicas", type=int, default=1, help="reporting processes sharing the partitions")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
