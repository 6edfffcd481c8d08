"""Order flow benchmark: the four services as processes on a fresh namespace of the local Kafka and FerretDB,
measured from outside. Prints figures as it goes; asserts nothing.

Run: ``uv run python -m benchmarks.order_flow [--quick] [--replicas N | --compare-replicas | --compare-protection]
[--step-s S] ...``
(``--help`` lists every option; ``--quick`` is a ~3 minute version of the same run).

In one run:
1. The benchmark is the storefront (OrderPlaced on `storefront.orders`), the warehouse (pick, pack, dispatch on
   `warehouse.events` as soon as `shipping.events.v1` says a shipment was created) and the carrier
   (TrackingUpdated in_transit → delivered on `carrier.tracking` as soon as it was dispatched). Per order it
   times placed → ShipmentRequested and placed → delivered (both seen on `orders.events.v1`) and, for a sample,
   placed → visible in customer_service's history (GET /orders/{id}/history answers 200).
   `--complete-at requested` makes ShipmentRequested the completion and plays no warehouse or carrier (the
   front half alone). Every few seconds a probe reads one document of each service's database with a short
   timeout and prints when FerretDB stops answering on one (a service blocked in a store call says nothing).
2. Ramp: the offered rate steps up (`--rates`, each step `--step-s` long). A step is held when deliveries keep
   up with the offered rate (within `--threshold`, measured after the first third of the step, when the
   pipeline is full) and the in-flight count (placed, not yet delivered) does not grow by more than that
   share; the ramp stops at the first step not held, or as soon as the in-flight count exceeds BACKLOG_S
   seconds of orders. Then the backlog drains.
3. Measured window at half the highest held rate: p50/p99 of each latency over every order placed in it (an
   order that misses `--deadline-s` counts, as a failure, and is printed), store round trips per order per
   service (the services' `fulfillment_store_commands_total`, by command, before/after the window, summed over
   replicas), CPU seconds per order of each process (/proc/<pid>/stat: services, Kafka, FerretDB and this
   benchmark); the round trips and CPU of an idle stretch just before are printed too (background polling).
   Peak RSS (VmHWM) at the end: services since their start (this run), Kafka and FerretDB since theirs.
4. `--replicas N` runs N processes per service (each its own port, same environment); `--compare-replicas`
   runs 1 and 2 on fresh namespaces and prints them side by side; `--compare-protection` runs the services as
   they are (protected) and with HTTP token checks and personal-data sealing off (UNSAFE_DISABLE_HTTP_AUTH,
   UNSAFE_DISABLE_PERSONAL_DATA_SEALING; the dev profile accepts them), and prints them side by side the same way.
5. B_mono (benchmarks/mono.py): the same orders through the same domain code in one process in memory;
   prints system ÷ B_mono.
The machine is shared and small: figures are noisy, compare runs made back to back.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import secrets
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeAlias

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from benchmarks import mono
from cli.tokens import bearer
from deploy.local.cli import up
from deploy.local.layout import LocalLayout
from deploy.local.process import rss_mib
from tests.kafka_probe import envelope
from tests.kafka_users import ADMIN, security_for
from tests.processes import SERVICE_MODULES
from tests.stack import RunningStack

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
SERVICES = tuple(SERVICE_MODULES)
INFRA = ("kafka", "ferretdb")
STORE_COMMANDS = "fulfillment_store_commands_total"
# FerretDB runs every document of an update or delete in a transaction of its own: there, these are the cost.
STORE_STATEMENTS = "fulfillment_store_statements_total"
WRITES = ("insert", "update", "delete")
# A step is given up once the orders in flight exceed this many seconds of its offered rate (Little's law: the
# mean order would take longer than that), so that an overshoot leaves a backlog that drains in a bounded time.
BACKLOG_S = 10.0
HISTORY_POLL_S = 0.1
# The next poll of a history comes after this share of the time since placement (at least HISTORY_POLL_S): the
# figure is at most 20 % high, and an order late by seconds costs customer_service a few requests, not one every
# 100 ms (those requests are in its CPU per order; the count is printed with it).
HISTORY_POLL_BACKOFF = 0.2
PROBE_S = 5.0
# Idle polling of the four services is a few round trips a second each (measured); above this, work is left.
QUIET_COMMANDS_PER_S = 40.0
QUIET_SAMPLE_S = 3.0
PROBE_TIMEOUT_MS = 3_000
STOP_S = 30.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Plan:
    rates: tuple[float, ...]
    step_s: float
    threshold: float
    window_s: float
    deadline_s: float
    drain_s: float
    idle_s: float
    warmup: int
    history_per_s: float
    mono_orders: int
    # What completes an order: "delivered" (end to end), or "requested" (ShipmentRequested; the warehouse and
    # the carrier are not played), to measure the front half when the back half cannot be.
    complete_at: str = "delivered"
    # The measured window's rate; None: half the highest rate held. Set it near the ceiling to see what
    # batching does to the costs per order when the queues are not empty.
    window_rate: float | None = None


FULL = Plan(
    rates=(5, 10, 20, 40, 80, 150, 300, 500, 800),
    step_s=60,
    threshold=0.1,
    window_s=60,
    deadline_s=60,
    drain_s=180,
    idle_s=10,
    warmup=20,
    history_per_s=2,
    mono_orders=5_000,
)
QUICK = replace(
    FULL,
    rates=(5, 10, 30, 80, 150, 300),
    step_s=15,
    window_s=20,
    deadline_s=30,
    drain_s=40,
    idle_s=3,
    mono_orders=1_000,
)


# Processes.


@dataclass(frozen=True)
class Infra:
    layout: LocalLayout

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.layout.kafka_port}"

    @property
    def mongodb_url(self) -> str:
        return f"mongodb://127.0.0.1:{self.layout.mongo_port}"

    def pids(self) -> dict[str, int]:
        """Kafka's and FerretDB's pids, from the pid files `fulfillment-infra up` writes (none if external)."""
        pids = {}
        for name in INFRA:
            path = self.layout.run / f"{name}.pid"
            if path.exists():
                pids[name] = int(path.read_text().strip())
        return pids


@dataclass
class Fleet:
    """`replicas` processes of each service: one RunningStack per replica, all with the same environment."""

    namespace: str
    stacks: list[RunningStack]

    @classmethod
    def start(cls, infra: Infra, replicas: int, extra_env: dict[str, str], logs: Path) -> Fleet:
        namespace = f"bench{secrets.token_hex(3)}"
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap,
            "MONGODB_URL": infra.mongodb_url,
            "TOPIC_PREFIX": f"{namespace}.",
            "DATABASE_PREFIX": f"{namespace}_",
            **extra_env,
        }
        fleet = cls(namespace, [])
        try:
            for index in range(replicas):
                (logs / f"replica{index}").mkdir()
                fleet.stacks.append(RunningStack(env, logs / f"replica{index}"))
                fleet.stacks[-1].start()
        except BaseException:
            fleet.stop()  # a replica that did not come up: stop the ones that did
            raise
        return fleet

    @property
    def prefix(self) -> str:
        return f"{self.namespace}."

    def databases(self) -> dict[str, str]:
        return {service: f"{self.namespace}_{service}" for service in SERVICES}

    def urls(self, service: str) -> list[str]:
        return [stack.url(service) for stack in self.stacks]

    def pids(self, service: str) -> list[int]:
        return [p.pid for stack in self.stacks if (p := stack.services[service].proc) is not None]

    async def drop_data(self, infra: Infra) -> None:
        """Drop the run's databases and topics: FerretDB keeps every database it has opened in memory (its RSS
        grew by ~1.5 GB over a handful of kept runs) and Kafka a directory per partition."""
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
        try:
            for name in await client.list_database_names():
                if name.startswith(f"{self.namespace}_"):
                    await client.drop_database(name)
        finally:
            await client.close()
        admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap, **security_for(ADMIN).client_kwargs())
        await admin.start()
        try:
            topics = [topic for topic in await admin.list_topics() if topic.startswith(self.prefix)]
            if topics:
                await admin.delete_topics(topics)
        finally:
            await admin.close()

    def stop(self) -> None:
        """SIGTERM each process; one still running after STOP_S is reported and killed (nothing is left over)."""
        for stack in self.stacks:
            for name, process in stack.services.items():
                if process.proc is None or process.proc.poll() is not None:
                    continue
                try:
                    process.terminate(STOP_S)
                except subprocess.TimeoutExpired:
                    print(f"  {name} (pid {process.proc.pid}) did not stop within {STOP_S:g} s of SIGTERM: killed")
                    process.kill()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (fields 14 and 15 of /proc/<pid>/stat; the name may hold spaces)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


# Costs: store round trips and CPU, sampled before and after a window.


@dataclass(frozen=True)
class Sample:
    at: float
    # service → command → round trips since start, summed over replicas; None when a replica did not answer.
    commands: dict[str, Counter[str] | None]
    cpu: dict[str, float]  # process (services summed over replicas) → CPU seconds


@dataclass(frozen=True)
class Cost:
    seconds: float
    commands: dict[str, Counter[str] | None]
    cpu: dict[str, float]

    def commands_per(self, service: str, count: float) -> float:
        commands = self.commands[service]
        if commands is None or not count:
            return math.nan
        return sum(round_trips(commands).values()) / count

    def statements_per(self, service: str, count: float) -> float:
        commands = self.commands[service]
        if commands is None or not count:
            return math.nan
        return sum(written(commands).values()) / count


def round_trips(commands: Counter[str]) -> Counter[str]:
    return Counter({key: n for key, n in commands.items() if not key.startswith("statements ")})


def written(commands: Counter[str]) -> Counter[str]:
    """The documents written, updated or deleted, by `<command> <collection kind>`."""
    return Counter({key.removeprefix("statements "): n for key, n in commands.items() if key.startswith("statements ")})


def store_commands(metrics_text: str, metric: str = STORE_COMMANDS) -> Counter[str]:
    """Round trips (or, with STORE_STATEMENTS, the documents they write) by `<command> <collection kind>`
    (shards, generations and per-partition logs folded together: `find histories`, `update
    orders_events_streams`), which says which part of a service spends them."""
    counts: Counter[str] = Counter()
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == metric:
                kind = collection_kind(sample.labels.get("collection", ""))
                counts[f"{sample.labels['command']} {kind}".strip()] += int(sample.value)
    return counts


def collection_kind(name: str) -> str:
    return re.sub(r"_p\d+(?=_|$)", "", re.sub(r"^g\d+_|_\d+$", "", name))


async def service_commands(http: httpx.AsyncClient, urls: list[str]) -> Counter[str] | None:
    """Round trips by command and collection kind, summed over replicas, and (keys `statements <command>
    <kind>`) the statements of the write commands among them."""
    total: Counter[str] = Counter()
    for url in urls:
        try:
            text = (await http.get(f"{url}/metrics")).text
        except httpx.HTTPError as error:
            print(f"  {url}/metrics did not answer ({type(error).__name__}): its round trips are not counted")
            return None
        total.update(store_commands(text))
        written = store_commands(text, STORE_STATEMENTS)
        total.update({f"statements {key}": n for key, n in written.items() if key.startswith(WRITES)})
    return total


async def take_sample(fleet: Fleet, infra: Infra, http: httpx.AsyncClient) -> Sample:
    commands = {service: await service_commands(http, fleet.urls(service)) for service in SERVICES}
    cpu = {service: sum(cpu_seconds(pid) for pid in fleet.pids(service)) for service in SERVICES}
    cpu |= {name: cpu_seconds(pid) for name, pid in infra.pids().items()}
    cpu["benchmark"] = time.process_time()
    return Sample(time.perf_counter(), commands, cpu)


def between(before: Sample, after: Sample) -> Cost:
    commands: dict[str, Counter[str] | None] = {}
    for service, counts in after.commands.items():
        earlier = before.commands[service]
        commands[service] = None if counts is None or earlier is None else counts - earlier
    return Cost(
        seconds=after.at - before.at,
        commands=commands,
        cpu={name: after.cpu[name] - before.cpu.get(name, math.nan) for name in after.cpu},
    )


# The outside world on Kafka.


@dataclass
class Times:
    """perf_counter() moments per order id."""

    complete_at: str = "delivered"
    sent: dict[str, float] = field(default_factory=dict)
    requested: dict[str, float] = field(default_factory=dict)
    delivered: dict[str, float] = field(default_factory=dict)
    visible: dict[str, float] = field(default_factory=dict)

    @property
    def done(self) -> dict[str, float]:
        """The orders that completed, by the plan's measure of completion."""
        return self.delivered if self.complete_at == "delivered" else self.requested

    def in_flight(self) -> int:
        return len(self.sent) - len(self.done)


def header(record: Record, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode()
    return None


class World:
    """Storefront, warehouse and carrier; watches `orders.events.v1` and `shipping.events.v1`."""

    def __init__(self, bootstrap: str, prefix: str, times: Times) -> None:
        self.prefix = prefix
        self.times = times
        self.plays_outside = times.complete_at == "delivered"
        self.placed = 0
        self.send_errors = 0
        # One producer for the three outside systems: the benchmark measures the services, not the actors, so it
        # writes as the admin (the tests check that each outside user may write only its own topic).
        admin = security_for(ADMIN).client_kwargs()
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=2, **admin
        )
        # No group: every partition from the beginning (the topics are this run's own).
        self.consumer = AIOKafkaConsumer(
            prefix + "orders.events.v1",
            prefix + "shipping.events.v1",
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **admin,
        )

    async def __aenter__(self) -> World:
        await self.producer.start()
        await self.consumer.start()
        self.follower = asyncio.create_task(self._follow())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.follower.cancel()
        await asyncio.gather(self.follower, return_exceptions=True)
        await self.consumer.stop()
        await self.producer.stop()

    async def stock(self) -> None:
        for sku in mono.SKUS:
            for warehouse in mono.WAREHOUSES:
                data = {"sku": sku, "warehouse": warehouse, "quantity": mono.STOCK_PER_SKU}
                await self._send("warehouse.events", sku, "StockReceived", data)
        await self.producer.flush()

    async def place(self, order_id: str) -> None:
        await self._send("storefront.orders", order_id, "OrderPlaced", mono.order_payload(order_id, self.placed))
        self.times.sent[order_id] = time.perf_counter()
        self.placed += 1

    async def _send(
        self, topic: str, key: str, type_: str, data: dict[str, Any], occurred_at: str | None = None
    ) -> None:
        # Enqueued, not awaited one by one: confirmation is asynchronous, as a storefront's producer would be.
        value = envelope(type_, data, occurred_at=occurred_at)
        future = await self.producer.send(self.prefix + topic, value, key=key.encode())
        future.add_done_callback(self._confirmed)

    def _confirmed(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            self.send_errors += 1

    async def _follow(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=100, max_records=5_000)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    await self._seen(record, now)

    async def _seen(self, record: Record, now: float) -> None:
        # The relay names the type in a header: most messages are skipped without parsing their JSON.
        type_ = header(record, "event-type")
        if record.topic.endswith("orders.events.v1"):
            if type_ == "ShipmentRequested" and record.key:
                self.times.requested.setdefault(record.key.decode(), now)
            elif type_ == "OrderStatusChanged":
                data = json.loads(record.value or b"{}")["data"]
                if data["status"] == "delivered":
                    self.times.delivered.setdefault(data["order_id"], now)
        elif not self.plays_outside:
            return
        elif type_ == "ShipmentCreated":
            await self._warehouse(json.loads(record.value or b"{}")["data"]["shipment_id"])
        elif type_ == "ShipmentDispatched":
            data = json.loads(record.value or b"{}")["data"]
            await self._carrier(data["tracking_number"], data["carrier"])

    async def _warehouse(self, shipment_id: str) -> None:
        """Pick, pack and dispatch at once: same key, same partition, so shipping reads them in this order."""
        await self._send("warehouse.events", shipment_id, "ShipmentPicked", {"shipment_id": shipment_id})
        await self._send("warehouse.events", shipment_id, "ShipmentPacked", {"shipment_id": shipment_id})
        data = {
            "shipment_id": shipment_id,
            "carrier": mono.CARRIER,
            "tracking_number": mono.tracking_number(shipment_id),
        }
        await self._send("warehouse.events", shipment_id, "ShipmentDispatched", data)

    async def _carrier(self, tracking_number: str, carrier: str) -> None:
        for status in ("in_transit", "delivered"):
            data = {"tracking_number": tracking_number, "carrier": carrier, "status": status, "location": "Lisboa"}
            # Distinct carrier times, so that `delivered` is the latest update whatever the arrival order.
            at = datetime.now(UTC) + timedelta(milliseconds=1 if status == "delivered" else 0)
            occurred_at = at.isoformat().replace("+00:00", "Z")
            await self._send("carrier.tracking", tracking_number, "TrackingUpdated", data, occurred_at)


class HistoryWatch:
    """Polls customer_service's history of sampled orders until it answers 200 (or the deadline passes)."""

    def __init__(self, urls: list[str], times: Times, deadline_s: float) -> None:
        self.urls = urls
        self.times = times
        self.deadline_s = deadline_s
        self.http = httpx.AsyncClient(timeout=10, headers=bearer("manager"))
        self.tasks: set[asyncio.Task[None]] = set()
        self.watched: list[str] = []
        self.polls = 0

    def watch(self, order_id: str) -> None:
        self.watched.append(order_id)
        task = asyncio.create_task(self._poll(order_id, self.urls[len(self.watched) % len(self.urls)]))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _poll(self, order_id: str, url: str) -> None:
        sent = self.times.sent[order_id]
        while (elapsed := time.perf_counter() - sent) < self.deadline_s:
            self.polls += 1
            try:
                if (await self.http.get(f"{url}/orders/{order_id}/history")).status_code == 200:
                    self.times.visible[order_id] = time.perf_counter()
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(max(HISTORY_POLL_S, HISTORY_POLL_BACKOFF * elapsed))

    async def settle(self) -> None:
        await asyncio.gather(*self.tasks)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.http.aclose()


class StoreProbe:
    """Asks FerretDB for one document of each service's database every PROBE_S seconds, with a short timeout, and
    says when a database stops answering: a service blocked in a store call shows no error anywhere else."""

    def __init__(self, mongodb_url: str, databases: dict[str, str], label: str) -> None:
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            mongodb_url, socketTimeoutMS=PROBE_TIMEOUT_MS, serverSelectionTimeoutMS=PROBE_TIMEOUT_MS
        )
        self.databases = databases
        self.label = label
        self.started = time.perf_counter()
        self.silent_since: dict[str, float] = {}
        self.collections: dict[str, str] = {}

    async def __aenter__(self) -> StoreProbe:
        self.task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.client.close()

    def describe(self) -> str:
        now = time.perf_counter()
        return "".join(f"; store of {s} silent for {now - t:.0f} s" for s, t in self.silent_since.items())

    async def _run(self) -> None:
        while True:
            for service, database in self.databases.items():
                await self._probe(service, database)
            await asyncio.sleep(PROBE_S)

    async def _probe(self, service: str, database: str) -> None:
        try:
            # A collection that exists (a missing one is answered without touching the database's storage).
            if service not in self.collections:
                names = sorted(await self.client[database].list_collection_names())
                if not names:
                    return
                self.collections[service] = names[0]
            await self.client[database][self.collections[service]].find_one({"_id": "__probe__"})
        except PyMongoError as error:
            if service not in self.silent_since:
                self.silent_since[service] = time.perf_counter()
                at = time.perf_counter() - self.started
                print(f"[{self.label}] FerretDB did not answer on {database} at {at:.0f} s ({type(error).__name__})")
            return
        if service in self.silent_since:
            silent = time.perf_counter() - self.silent_since.pop(service)
            print(f"[{self.label}] FerretDB answers on {database} again after {silent:.0f} s")


# Latencies.


@dataclass(frozen=True)
class Latency:
    """Seconds from placement per order; inf for an order that missed the deadline (it counts)."""

    values: list[float]
    failed: list[str]

    @classmethod
    def of(cls, times: Times, order_ids: Sequence[str], arrived: dict[str, float], deadline_s: float) -> Latency:
        values, failed = [], []
        for order_id in order_ids:
            seconds = arrived.get(order_id, math.inf) - times.sent[order_id]
            if seconds > deadline_s:
                failed.append(order_id)
                seconds = math.inf
            values.append(seconds)
        return cls(sorted(values), failed)

    def percentile(self, q: float) -> float:
        if not self.values:
            return math.nan
        return self.values[min(len(self.values) - 1, max(0, math.ceil(q * len(self.values)) - 1))]

    def describe(self) -> str:
        if not self.values:
            return "no orders"
        text = f"p50 {ms(self.percentile(0.5))}  p99 {ms(self.percentile(0.99))}  max {ms(self.values[-1])}"
        return text + f"  (n={len(self.values)}" + (f", {len(self.failed)} FAILED)" if self.failed else ")")


def ms(seconds: float) -> str:
    if math.isinf(seconds):
        return "   never"
    if math.isnan(seconds):
        return "       -"
    return f"{seconds * 1000:6.0f}ms" if seconds < 10 else f"{seconds:7.1f}s"


# Offering orders at a rate.


class Sender:
    """Places orders at a steady rate; every k-th is watched in the history (about `history_per_s` a second)."""

    def __init__(self, world: World, watch: HistoryWatch, history_per_s: float, run: str) -> None:
        self.world = world
        self.watch = watch
        self.history_per_s = history_per_s
        self.run = run
        self.phases = 0

    async def offer(self, rate: float, seconds: float, stop: asyncio.Event | None = None) -> tuple[list[str], float]:
        """The order ids placed and how long placing them took; the n-th leaves at start + n / rate."""
        self.phases += 1
        count = max(1, round(rate * seconds))
        every = max(1, round(rate / self.history_per_s))
        ids = [f"B{self.run}-{self.phases:02d}-{n:06d}" for n in range(count)]
        started = time.perf_counter()
        for n, order_id in enumerate(ids):
            if stop is not None and stop.is_set():
                ids = ids[:n]
                break
            await self.world.place(order_id)
            if n % every == 0:
                self.watch.watch(order_id)
            # Until the next one is due; sleep(0) when late still lets the follower and the pollers run.
            await asyncio.sleep(max(0.0, started + (n + 1) / rate - time.perf_counter()))
        return ids, time.perf_counter() - started


# The ramp.


@dataclass(frozen=True)
class Step:
    rate: float
    orders: list[str]
    sent_rate: float
    done_rate: float
    in_flight: tuple[int, int]
    held: bool
    why: str


async def run_step(sender: Sender, times: Times, plan: Plan, rate: float) -> Step:
    # Deliveries are counted once the pipeline is full at the new rate (latency here is seconds under load).
    settle_s = plan.step_s / 3
    stop = asyncio.Event()
    offering = asyncio.create_task(sender.offer(rate, plan.step_s, stop))
    await asyncio.sleep(settle_s)
    start = (time.perf_counter(), len(times.done), times.in_flight())
    backlog = await watch_backlog(offering, times, rate, stop)
    ids, send_s = await offering
    end = (time.perf_counter(), len(times.done), times.in_flight())
    window = max(1e-9, end[0] - start[0])
    sent_rate = len(ids) / send_s
    done_rate = (end[1] - start[1]) / window
    growth = end[2] - start[2]
    why = backlog or verdict(plan, rate, sent_rate, done_rate, growth, window)
    return Step(rate, ids, sent_rate, done_rate, (start[2], end[2]), not why, why)


async def watch_backlog(offering: asyncio.Task[Any], times: Times, rate: float, stop: asyncio.Event) -> str:
    """Gives the step up early (and says why) once the backlog exceeds BACKLOG_S seconds of orders."""
    limit = rate * BACKLOG_S + 50
    while not offering.done():
        if times.in_flight() > limit:
            stop.set()
            return f"{times.in_flight()} in flight > {BACKLOG_S:.0f} s of orders"
        await asyncio.sleep(0.5)
    return ""


def verdict(plan: Plan, rate: float, sent_rate: float, done_rate: float, growth: int, window: float) -> str:
    """Empty when held; else what failed."""
    floor = (1 - plan.threshold) * rate
    if sent_rate < floor:
        return f"the benchmark itself sent only {sent_rate:.1f}/s"
    if done_rate < floor:
        return f"{plan.complete_at} {done_rate:.1f}/s < {floor:.1f}/s"
    if growth > plan.threshold * rate * window:
        return f"in flight grew by {growth}"
    return ""


def describe_step(step: Step, times: Times, plan: Plan, store: str) -> str:
    """One line per step; latencies are of the step's orders that arrived by its end (the rest are in flight)."""

    def p50(arrived: dict[str, float]) -> str:
        reached = [o for o in step.orders if o in arrived]
        return ms(Latency.of(times, reached, arrived, plan.deadline_s).percentile(0.5))

    milestones = [("requested", times.requested), ("delivered", times.delivered), ("history", times.visible)]
    if plan.complete_at != "delivered":
        milestones.pop(1)
    latencies = ", ".join(f"{name} {p50(arrived)}" for name, arrived in milestones)
    flight = f"{step.in_flight[0]}→{step.in_flight[1]}"
    verdict = "held" if step.held else f"NOT held ({step.why})"
    return (
        f"  step {step.rate:5g}/s: sent {len(step.orders)} ({step.sent_rate:.1f}/s), {plan.complete_at} "
        f"{step.done_rate:.1f}/s after the first third, in flight {flight}; p50 {latencies}; "
        f"load {os.getloadavg()[0]:.1f}{store} → {verdict}"
    )


async def ramp(ctx: Context) -> tuple[list[Step], float | None]:
    plan, label = ctx.plan, ctx.label
    steps: list[Step] = []
    held: float | None = None
    print(
        f"[{label}] ramp: steps of {plan.step_s:g} s, held = {plan.complete_at} within {plan.threshold:.0%} of offered"
    )
    for rate in plan.rates:
        step = await run_step(ctx.sender, ctx.times, plan, rate)
        steps.append(step)
        print(f"[{label}]" + describe_step(step, ctx.times, plan, ctx.probe.describe()), flush=True)
        if not step.held:
            break
        held = rate
    return steps, held


async def drain(times: Times, seconds: float, label: str) -> int:
    """Wait for the backlog to complete; give up when it stops shrinking for 15 s or after `seconds`."""
    started = last_change = time.perf_counter()
    last = times.in_flight()
    while times.in_flight() and time.perf_counter() - started < seconds and time.perf_counter() - last_change < 15:
        await asyncio.sleep(0.5)
        if times.in_flight() != last:
            last, last_change = times.in_flight(), time.perf_counter()
    left = times.in_flight()
    print(f"[{label}] drained in {time.perf_counter() - started:.0f} s; {left} orders still not {times.complete_at}")
    return times.in_flight()


async def report_readiness(fleet: Fleet, http: httpx.AsyncClient, label: str) -> None:
    """Orders are stuck: what each process's /ready says (a stuck consumer is named there)."""
    for service in SERVICES:
        for url in fleet.urls(service):
            try:
                response = await http.get(f"{url}/ready")
                answer = f"{response.status_code} {response.text[:300]}"
            except httpx.HTTPError as error:
                answer = f"no answer ({type(error).__name__})"
            print(f"[{label}]   {service} {url}/ready: {answer}")


# The measured window.


@dataclass(frozen=True)
class Window:
    rate: float
    orders: list[str]
    requested: Latency
    delivered: Latency
    visible: Latency
    cost: Cost
    idle: Cost
    complete_at: str
    history_polls: int = 0  # GET /orders/{id}/history requests the window made (in customer_service's CPU)

    @property
    def done(self) -> Latency:
        return self.delivered if self.complete_at == "delivered" else self.requested

    @property
    def completed(self) -> int:
        return len(self.done.values) - len(self.done.failed)


async def wait_done(times: Times, ids: list[str], deadline_s: float) -> None:
    last_deadline = times.sent[ids[-1]] + deadline_s
    while time.perf_counter() < last_deadline and not all(o in times.done for o in ids):  # noqa: ASYNC110
        await asyncio.sleep(0.2)


@dataclass(frozen=True)
class Context:
    fleet: Fleet
    infra: Infra
    http: httpx.AsyncClient
    times: Times
    sender: Sender
    watch: HistoryWatch
    probe: StoreProbe
    plan: Plan
    label: str


async def wait_quiet(ctx: Context) -> None:
    """Until the services' store round trips drop to their idle polling: after the ramp, shipping and
    customer_service may still be working off a backlog that the completion milestone no longer shows."""
    started = time.perf_counter()
    before, rate = await take_sample(ctx.fleet, ctx.infra, ctx.http), math.inf
    while time.perf_counter() - started < ctx.plan.drain_s:
        await asyncio.sleep(QUIET_SAMPLE_S)
        after = await take_sample(ctx.fleet, ctx.infra, ctx.http)
        cost = between(before, after)
        rate = sum(sum(c.values()) for c in cost.commands.values() if c is not None) / cost.seconds
        if rate < QUIET_COMMANDS_PER_S:
            break
        before = after
    print(f"[{ctx.label}] quiet after {time.perf_counter() - started:.0f} s ({rate:.0f} store round trips/s)")


async def measure_window(ctx: Context, rate: float) -> Window:
    plan = ctx.plan
    await wait_quiet(ctx)
    idle_before = await take_sample(ctx.fleet, ctx.infra, ctx.http)
    await asyncio.sleep(plan.idle_s)
    before = await take_sample(ctx.fleet, ctx.infra, ctx.http)
    print(f"[{ctx.label}] measured window: {rate:g} orders/s for {plan.window_s:g} s", flush=True)
    polls = ctx.watch.polls
    ids, _ = await ctx.sender.offer(rate, plan.window_s)
    await wait_done(ctx.times, ids, plan.deadline_s)
    await ctx.watch.settle()
    after = await take_sample(ctx.fleet, ctx.infra, ctx.http)
    polls = ctx.watch.polls - polls
    sampled = set(ctx.watch.watched)
    watched = [o for o in ids if o in sampled]
    return Window(
        rate=rate,
        orders=ids,
        requested=Latency.of(ctx.times, ids, ctx.times.requested, plan.deadline_s),
        delivered=Latency.of(ctx.times, ids, ctx.times.delivered, plan.deadline_s),
        visible=Latency.of(ctx.times, watched, ctx.times.visible, plan.deadline_s),
        cost=between(before, after),
        idle=between(idle_before, before),
        complete_at=plan.complete_at,
        history_polls=polls,
    )


def print_window(label: str, window: Window) -> None:
    print(f"[{label}] at {window.rate:g}/s, every order counted ({len(window.orders)} orders, deadline applies):")
    ends_to_end = window.complete_at == "delivered"
    print(f"[{label}]   placed → ShipmentRequested   {window.requested.describe()}")
    if ends_to_end:
        print(f"[{label}]   placed → delivered           {window.delivered.describe()}")
    print(f"[{label}]   placed → in history (sample) {window.visible.describe()}")
    milestones = [("ShipmentRequested", window.requested)] + ([("delivered", window.delivered)] if ends_to_end else [])
    for what, latency in milestones:
        if latency.failed:
            print(f"[{label}]   FAILED to reach {what}: {len(latency.failed)}: {', '.join(latency.failed[:10])}")
    if window.visible.failed:
        print(f"[{label}]   FAILED to show in history: {', '.join(window.visible.failed[:10])}")
    print_costs(label, window)


def print_costs(label: str, window: Window) -> None:
    """Per completed order, raw and net of the idle rate measured just before (background polling, and on a
    shared machine other clients of Kafka and FerretDB)."""
    done, cost, idle = window.completed, window.cost, window.idle
    print(
        f"[{label}] store round trips per order {window.complete_at} ({done} in {cost.seconds:.0f} s): raw, net of idle"
    )
    for service in SERVICES:
        counts, idle_counts = cost.commands[service], idle.commands[service]
        if counts is None or idle_counts is None:
            print(f"[{label}]   {service:17}     n/a (its /metrics did not answer)")
            continue
        trips, idle_trips = round_trips(counts), round_trips(idle_counts)
        raw = sum(trips.values())
        idle_rate = sum(idle_trips.values()) / idle.seconds
        top = ", ".join(f"{c} {n / done:.2f}" for c, n in trips.most_common(8)) if done else ""
        idle_top = ", ".join(f"{c} {n / idle.seconds:.1f}" for c, n in idle_trips.most_common(3))
        print(
            f"[{label}]   {service:17} {per(raw, done):7.2f} {per(raw - idle_rate * cost.seconds, done):7.2f}"
            f"   ({top})   idle {idle_rate:.1f}/s ({idle_top})"
        )
    print(f"[{label}] documents written per order {window.complete_at} (each its own SQLite transaction on FerretDB)")
    for service in SERVICES:
        counts = cost.commands[service]
        if counts is None:
            continue
        writes = written(counts)
        top = ", ".join(f"{c} {n / done:.2f}" for c, n in writes.most_common(8)) if done else ""
        print(f"[{label}]   {service:17} {per(sum(writes.values()), done):7.2f}   ({top})")
    print(
        f"[{label}] CPU ms per order {window.complete_at}: raw, net of idle (idle CPU ms/s); customer_service's "
        f"includes serving this benchmark's {per(window.history_polls, done):.1f} history polls per order"
    )
    for name, seconds in cost.cpu.items():
        idle_rate = idle.cpu[name] / idle.seconds
        raw_ms, net_ms = per(seconds * 1000, done), per((seconds - idle_rate * cost.seconds) * 1000, done)
        print(f"[{label}]   {name:17} {raw_ms:7.2f} {net_ms:7.2f}   ({idle_rate * 1000:.0f}/s)")
    system = sum(v for k, v in cost.cpu.items() if k != "benchmark")
    print(f"[{label}]   system total      {per(system * 1000, done):7.2f}   (services + Kafka + FerretDB, raw)")


def per(amount: float, orders: int) -> float:
    return amount / orders if orders else math.nan


# One configuration, end to end.


@dataclass(frozen=True)
class RunResult:
    label: str
    steps: list[Step]
    held: float | None
    window: Window
    rss: dict[str, float]
    send_errors: int


def peak_rss(fleet: Fleet, infra: Infra) -> dict[str, float]:
    rss = {s: sum(peak_rss_mib(pid) or 0.0 for pid in fleet.pids(s)) for s in SERVICES}
    rss |= {name: peak_rss_mib(pid) or rss_mib(pid) or math.nan for name, pid in infra.pids().items()}
    rss["benchmark"] = peak_rss_mib(os.getpid()) or math.nan
    return rss


async def warm_up(ctx: Context) -> None:
    """A few orders, all completed, before timing: consumer groups assigned, caches and connections warm."""
    started = time.perf_counter()
    ids, _ = await ctx.sender.offer(5, ctx.plan.warmup / 5)
    await wait_done(ctx.times, ids, 120)
    done = sum(1 for o in ids if o in ctx.times.done)
    took = time.perf_counter() - started
    print(f"[{ctx.label}] warm-up: {done}/{len(ids)} orders {ctx.times.complete_at} in {took:.0f} s")


async def drive(fleet: Fleet, infra: Infra, plan: Plan, label: str) -> RunResult:
    times = Times(complete_at=plan.complete_at)
    async with (
        httpx.AsyncClient(timeout=10, headers=bearer("manager")) as http,
        World(infra.bootstrap, fleet.prefix, times) as world,
        StoreProbe(infra.mongodb_url, fleet.databases(), label) as probe,
    ):
        watch = HistoryWatch(fleet.urls("customer_service"), times, plan.deadline_s)
        sender = Sender(world, watch, plan.history_per_s, secrets.token_hex(2).upper())
        ctx = Context(fleet, infra, http, times, sender, watch, probe, plan, label)
        try:
            await world.stock()
            await warm_up(ctx)
            steps, held = await ramp(ctx)
            if await drain(times, plan.drain_s, label):
                await report_readiness(fleet, http, label)
            window = await measure_window(ctx, plan.window_rate or (held or plan.rates[0]) / 2)
            print_window(label, window)
        finally:
            await watch.close()
        rss = peak_rss(fleet, infra)
        return RunResult(label, steps, held, window, rss, world.send_errors)


@dataclass(frozen=True)
class Configuration:
    """What one run of the plan starts: `replicas` processes per service, with `env` added to their environment."""

    label: str
    replicas: int = 1
    env: tuple[tuple[str, str], ...] = ()


# Both switches of protection off (the services accept them in the dev profile only). Kafka's SASL/SCRAM stays on:
# the local broker is shared by every stack on it, and SCRAM costs only when a client connects.
UNPROTECTED_ENV = (("UNSAFE_DISABLE_HTTP_AUTH", "true"), ("UNSAFE_DISABLE_PERSONAL_DATA_SEALING", "true"))
PROTECTION_NOTE = (
    "unprotected = UNSAFE_DISABLE_HTTP_AUTH (no token verified) + UNSAFE_DISABLE_PERSONAL_DATA_SEALING (personal "
    "data stored in plaintext); Kafka SASL/SCRAM stays on in both (the local broker is shared, and SCRAM costs only "
    "at connection time)"
)


def replicas_label(replicas: int) -> str:
    return f"{replicas} replica" + ("s" if replicas > 1 else "")


def configurations(args: argparse.Namespace) -> list[Configuration]:
    """The runs, back to back on fresh namespaces: one, or the two of a comparison."""
    if args.compare_replicas:
        return [Configuration(replicas_label(n), n) for n in (1, 2)]
    if args.compare_protection:
        return [
            Configuration("protected", args.replicas),
            Configuration("unprotected", args.replicas, UNPROTECTED_ENV),
        ]
    return [Configuration(replicas_label(args.replicas), args.replicas)]


def run_configuration(infra: Infra, configuration: Configuration, plan: Plan, keep_data: bool = False) -> RunResult:
    label, replicas = configuration.label, configuration.replicas
    # Kept after the run (a few MB): when orders fail, the services' logs say why.
    logs = Path(tempfile.mkdtemp(prefix="order_flow-"))
    started = time.perf_counter()
    fleet = Fleet.start(infra, replicas, dict(configuration.env), logs)
    try:
        print(f"[{label}] {len(SERVICES)} services x {replicas} ready in {time.perf_counter() - started:.0f} s "
              f"(namespace {fleet.namespace}, logs in {logs})", flush=True)  # fmt: skip
        result = asyncio.run(drive(fleet, infra, plan, label))
    finally:
        fleet.stop()
        if not keep_data:
            asyncio.run(fleet.drop_data(infra))
    print(
        f"[{label}] highest rate held ≥ {plan.step_s:g} s: " + (f"{result.held:g} orders/s" if result.held else "none")
    )
    rss = ", ".join(f"{name} {mib:.0f}" for name, mib in result.rss.items())
    print(f"[{label}] peak RSS MiB (VmHWM; Kafka/FerretDB since their start): {rss}")
    if result.send_errors:
        print(f"[{label}] {result.send_errors} messages the benchmark could not send")
    return result


# Reports across configurations and against B_mono.


def side_by_side(results: list[RunResult]) -> None:
    rows: list[tuple[str, list[str]]] = [
        ("highest rate held (orders/s)", [f"{r.held:g}" if r.held else "none" for r in results]),
        ("measured at (orders/s)", [f"{r.window.rate:g}" for r in results]),
    ]
    milestones = [("requested", "requested"), ("delivered", "delivered"), ("history", "visible")]
    if results[0].window.complete_at != "delivered":
        milestones.pop(1)  # no warehouse or carrier were played: nothing was delivered
    for name, pick in milestones:
        for q in (0.5, 0.99):
            rows.append((f"placed → {name} p{q * 100:g}", [ms(getattr(r.window, pick).percentile(q)) for r in results]))
    rows.append(("failed orders", [str(len(r.window.done.failed)) for r in results]))
    for service in SERVICES:
        values = [f"{r.window.cost.commands_per(service, r.window.completed):.2f}" for r in results]
        rows.append((f"round trips/order {service}", values))
    for service in SERVICES:
        values = [f"{r.window.cost.statements_per(service, r.window.completed):.2f}" for r in results]
        rows.append((f"documents written/order {service}", values))
    for name in (*SERVICES, *INFRA):
        values = [f"{r.window.cost.cpu.get(name, math.nan) * 1000 / max(1, r.window.completed):.2f}" for r in results]
        rows.append((f"CPU ms/order {name}", values))
    for name in (*SERVICES, *INFRA):
        rows.append((f"peak RSS MiB {name}", [f"{r.rss.get(name, math.nan):.0f}" for r in results]))
    print(f"{'':34}" + "".join(f"{r.label:>14}" for r in results))
    for title, values in rows:
        print(f"{title:34}" + "".join(f"{v:>14}" for v in values))


def against_mono(results: list[RunResult], result: mono.MonoResult) -> None:
    for run in results:
        done = max(1, run.window.completed)
        system_cpu = sum(v for k, v in run.window.cost.cpu.items() if k != "benchmark") * 1000 / done
        held = f"{(run.held or 0) / result.orders_per_s:.3f}" if run.held else "-"
        partial = "" if run.window.complete_at == "delivered" else " (the system's figures stop at ShipmentRequested)"
        print(
            f"[{run.label}] system ÷ B_mono: throughput {held} ({run.held or 0:g} vs {result.orders_per_s:.0f} "
            f"orders/s), CPU per order {system_cpu / result.cpu_ms_per_order:.1f}x "
            f"({system_cpu:.1f} vs {result.cpu_ms_per_order:.2f} ms){partial}"
        )


# Plan fields a command-line option of the same name overrides (else the --quick or full preset's value).
OPTIONS = (
    "step_s",
    "threshold",
    "window_s",
    "window_rate",
    "deadline_s",
    "drain_s",
    "idle_s",
    "warmup",
    "mono_orders",
    "complete_at",
)


def parse_plan(args: argparse.Namespace) -> Plan:
    plan = QUICK if args.quick else FULL
    overrides: dict[str, Any] = {name: getattr(args, name) for name in OPTIONS if getattr(args, name) is not None}
    if args.rates:
        overrides["rates"] = tuple(float(r) for r in args.rates.split(","))
    return replace(plan, **overrides)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", help="steps of 15 s from 5 to 300/s, a 20 s window, 1000 B_mono orders"
    )
    parser.add_argument("--rates", help=f"offered rates, comma-separated (default {','.join(map(str, FULL.rates))})")
    parser.add_argument("--step-s", type=float, help=f"seconds per ramp step (default {FULL.step_s:g})")
    parser.add_argument("--threshold", type=float, help="share deliveries may fall behind and still hold (0.1)")
    parser.add_argument("--window-s", type=float, help="seconds of the measured window at half the rate held")
    parser.add_argument("--window-rate", type=float, help="rate of the measured window (default: half the rate held)")
    parser.add_argument("--deadline-s", type=float, help="an order later than this counts as failed (60)")
    parser.add_argument("--drain-s", type=float, help="longest wait for the ramp's backlog (180)")
    parser.add_argument("--idle-s", type=float, help="idle stretch measured before the window (10)")
    parser.add_argument("--warmup", type=int, help="orders delivered before anything is timed (20)")
    parser.add_argument("--mono-orders", type=int, help="orders for B_mono; 0 skips it (5000)")
    parser.add_argument(
        "--complete-at",
        choices=("delivered", "requested"),
        help="what completes an order: delivered (end to end, default) or ShipmentRequested (no warehouse/carrier)",
    )
    parser.add_argument("--replicas", type=int, default=1, help="processes per service (1)")
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the run's databases and topics (dropped by default)"
    )
    comparison = parser.add_mutually_exclusive_group()
    comparison.add_argument("--compare-replicas", action="store_true", help="run 1 and 2 replicas, print side by side")
    comparison.add_argument(
        "--compare-protection",
        action="store_true",
        help="run with and without HTTP auth and personal-data sealing (Kafka SASL on in both), print side by side",
    )
    return parser.parse_args()


def main() -> None:
    args = arguments()
    plan = parse_plan(args)
    layout = LocalLayout.from_env()
    up(layout)
    infra = Infra(layout)
    started = time.perf_counter()
    if args.compare_protection:
        print(PROTECTION_NOTE, flush=True)
    results = [run_configuration(infra, configuration, plan, args.keep_data) for configuration in configurations(args)]
    if len(results) > 1:
        side_by_side(results)
    if args.compare_protection:
        print(PROTECTION_NOTE)
    if plan.mono_orders:
        result = mono.run(plan.mono_orders)
        for line in mono.describe(result):
            print(line)
        against_mono(results, result)
    print(f"(total {time.perf_counter() - started:.0f} s; a shared 2-core machine: expect noise of tens of percent)")


if __name__ == "__main__":
    main()
