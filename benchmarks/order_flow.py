"""Order flow benchmark: `uv run python -m benchmarks.order_flow`.

Runs the four services as processes (fresh topics and databases) against the local Kafka and FerretDB and
measures, from outside, what a storefront would see:
- latency from publishing OrderPlaced to ShipmentRequested appearing on `orders.events.v1` (median, p99) for
  orders sent at a steady rate;
- the highest sustained rate: a burst of orders sent as fast as possible, completed orders per second;
- peak RSS (VmHWM) of the broker, FerretDB and every service.
With `--tracing`, the same is run twice in one go, once with spans exported over OTLP to a local receiver and
once with the OpenTelemetry SDK disabled, and the ratio is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from deploy.local.cli import up
from deploy.local.layout import LocalLayout
from deploy.local.process import rss_mib
from tests.factories import order_placed
from tests.kafka_probe import envelope
from tests.otlp_receiver import otlp_receiver
from tests.stack import RunningStack

SKUS = [f"BENCH-{n}" for n in range(10)]


def peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


class Probe:
    """Publishes orders and watches for their ShipmentRequested."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.bootstrap, self.prefix = bootstrap, prefix
        self.sent: dict[str, float] = {}
        self.requested: dict[str, float] = {}
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=2)

    async def __aenter__(self) -> Probe:
        await self.producer.start()
        self.consumer = AIOKafkaConsumer(
            self.prefix + "orders.events.v1",
            bootstrap_servers=self.bootstrap,
            group_id=f"bench-{secrets.token_hex(4)}",
            auto_offset_reset="earliest",
        )
        await self.consumer.start()
        self.follower = asyncio.create_task(self._follow())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.follower.cancel()
        await self.consumer.stop()
        await self.producer.stop()

    async def _follow(self) -> None:
        while True:
            for records in (await self.consumer.getmany(timeout_ms=100)).values():
                now = time.perf_counter()
                for record in records:
                    message = json.loads(record.value or b"{}")
                    if message.get("type") == "ShipmentRequested":
                        self.requested.setdefault(message["data"]["order_id"], now)

    async def stock(self) -> None:
        for sku in SKUS:
            for warehouse in ("LIS-1", "MAD-1"):
                value = envelope("StockReceived", {"sku": sku, "warehouse": warehouse, "quantity": 1_000_000})
                await self.producer.send_and_wait(self.prefix + "warehouse.events", value, key=sku.encode())

    async def place(self, order_id: str, n: int) -> None:
        value = envelope("OrderPlaced", order_placed(order_id, [(SKUS[n % len(SKUS)], 1, "9.90")]))
        future = await self.producer.send(self.prefix + "storefront.orders", value, key=order_id.encode())
        self.sent[order_id] = time.perf_counter()
        await future

    async def wait_for(self, order_ids: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(o in self.requested for o in order_ids):  # noqa: ASYNC110
            await asyncio.sleep(0.1)


async def steady(probe: Probe, run: str, count: int, rate: float) -> dict[str, float]:
    order_ids = [f"B{run}-S{n:05d}" for n in range(count)]
    started = time.perf_counter()
    for n, order_id in enumerate(order_ids):
        await probe.place(order_id, n)
        # Steady: the n-th order leaves at started + n / rate, whatever the previous send cost.
        await asyncio.sleep(max(0.0, started + (n + 1) / rate - time.perf_counter()))
    await probe.wait_for(order_ids, timeout=120)
    latencies = sorted(probe.requested[o] - probe.sent[o] for o in order_ids if o in probe.requested)
    return {
        "orders": count,
        "completed": len(latencies),
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


async def burst(probe: Probe, run: str, count: int) -> dict[str, float]:
    order_ids = [f"B{run}-X{n:05d}" for n in range(count)]
    started = time.perf_counter()
    await asyncio.gather(*(probe.place(o, n) for n, o in enumerate(order_ids)))
    await probe.wait_for(order_ids, timeout=300)
    done = [probe.requested[o] for o in order_ids if o in probe.requested]
    return {"orders": count, "completed": len(done), "orders_per_s": len(done) / (max(done) - started)}


async def measure(
    stack: RunningStack, bootstrap: str, steady_count: int, rate: float, burst_count: int
) -> dict[str, Any]:
    run = secrets.token_hex(3).upper()
    async with Probe(bootstrap, stack.env["TOPIC_PREFIX"]) as probe:
        await probe.stock()
        await asyncio.sleep(3)  # stock received before the first order
        return {"steady": await steady(probe, run, steady_count, rate), "burst": await burst(probe, run, burst_count)}


def start_stack(layout: LocalLayout, extra_env: dict[str, str], logs: Path) -> RunningStack:
    namespace = f"bench{secrets.token_hex(3)}"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{layout.kafka_port}",
        "MONGODB_URL": f"mongodb://127.0.0.1:{layout.mongo_port}",
        "TOPIC_PREFIX": f"{namespace}.",
        "DATABASE_PREFIX": f"{namespace}_",
        **extra_env,
    }
    stack = RunningStack(env, logs)
    stack.start()
    return stack


def report_rss(layout: LocalLayout, stack: RunningStack) -> dict[str, float | None]:
    pids = {name: int((layout.run / f"{name}.pid").read_text()) for name in ("kafka", "ferretdb")}
    pids |= {name: service.proc.pid for name, service in stack.services.items() if service.proc}
    return {name: peak_rss_mib(pid) or rss_mib(pid) for name, pid in pids.items()}


def run_once(label: str, layout: LocalLayout, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as logs:
        stack = start_stack(layout, env, Path(logs))
        try:
            bootstrap = f"127.0.0.1:{layout.kafka_port}"
            result = asyncio.run(measure(stack, bootstrap, args.orders, args.rate, args.burst))
            result["peak_rss_mib"] = report_rss(layout, stack)
        finally:
            stack.stop()
    steady_result, burst_result = result["steady"], result["burst"]
    print(
        f"[{label}] steady {steady_result['completed']}/{steady_result['orders']} orders at {args.rate:g}/s: "
        f"OrderPlaced -> ShipmentRequested median {steady_result['median_ms']:.0f} ms, "
        f"p99 {steady_result['p99_ms']:.0f} ms"
    )
    print(f"[{label}] burst of {burst_result['orders']}: {burst_result['orders_per_s']:.1f} orders/s sustained")
    rss = result["peak_rss_mib"]
    total = sum(v for v in rss.values() if v)
    print(f"[{label}] peak RSS MiB: " + ", ".join(f"{k} {v:.0f}" for k, v in rss.items() if v) + f"; total {total:.0f}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1000, help="orders sent at a steady rate")
    parser.add_argument("--rate", type=float, default=20.0, help="steady rate, orders per second")
    parser.add_argument("--burst", type=int, default=500, help="orders sent at once to find the sustained rate")
    parser.add_argument("--tracing", action="store_true", help="compare OTLP-exported tracing with the SDK disabled")
    args = parser.parse_args()
    layout = LocalLayout.from_env()
    up(layout)
    if not args.tracing:
        run_once("default", layout, {}, args)
        return
    off = run_once("tracing off", layout, {"OTEL_SDK_DISABLED": "true"}, args)
    with otlp_receiver() as (receiver, endpoint):
        on = run_once("tracing on ", layout, {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}, args)
        print(f"[tracing on ] {len(receiver.snapshot())} spans received over OTLP")
    print(
        f"tracing on / off: median latency x{on['steady']['median_ms'] / off['steady']['median_ms']:.2f}, "
        f"p99 x{on['steady']['p99_ms'] / off['steady']['p99_ms']:.2f}, "
        f"burst throughput x{on['burst']['orders_per_s'] / off['burst']['orders_per_s']:.2f}"
    )


if __name__ == "__main__":
    main()
