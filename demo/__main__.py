"""`python -m demo`: play storefront, warehouse and carriers against the running system, show orders flowing,
and end with a table of order statuses read back from the orders service."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table

from cli.tokens import token_for
from demo.manager import managers_view
from demo.world import World
from deploy.local.layout import LocalLayout

console = Console()


def progress_table(world: World, elapsed: float) -> Table:
    tally = world.tally
    table = Table(title=f"Orders flowing ({elapsed:.0f}s)", show_header=False, min_width=44)
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in (
        ("orders placed", tally.placed),
        ("shipments dispatched", tally.dispatched),
        ("cancellations requested", tally.cancellations),
        ("returns requested", tally.returns),
        ("malformed messages sent", tally.malformed),
    ):
        table.add_row(label, str(value))
    table.add_section()
    for status, count in sorted(tally.by_status().items()):
        table.add_row(f"now {status}", str(count))
    return table


async def summary(orders_url: str, order_ids: list[str]) -> Table:
    """Ask the orders service itself: the final word on each order's status."""
    # FULFILLMENT_TOKEN when given, else (dev profile) a manager's token: reading is all the demo does over HTTP.
    headers = {"Authorization": f"Bearer {token_for('manager')}"}
    async with httpx.AsyncClient(base_url=orders_url, timeout=10, headers=headers) as client:
        responses = await asyncio.gather(*(client.get(f"/orders/{order_id}") for order_id in order_ids))
    statuses = Counter(r.json()["status"] if r.status_code == 200 else f"HTTP {r.status_code}" for r in responses)
    table = Table(title="Order statuses (from the orders service)")
    table.add_column("status")
    table.add_column("orders", justify="right")
    for status, count in statuses.most_common():
        table.add_row(status, str(count))
    table.add_row("[bold]total", f"[bold]{sum(statuses.values())}")
    return table


async def main(args: argparse.Namespace) -> int:
    world = World(args.bootstrap, args.topic_prefix, args.seed, args.orders, args.rate)
    await world.producer.start()
    ready = asyncio.Event()
    follower = asyncio.create_task(world.follow(ready))
    started = time.monotonic()
    try:
        await asyncio.wait_for(ready.wait(), 30)
        console.print(f"Seeding stock, then placing {args.orders} orders at {args.rate}/s ...")
        await world.seed_stock()
        storefront = asyncio.create_task(world.place_orders())
        with Live(progress_table(world, 0), console=console, refresh_per_second=4) as live:
            restocked = False
            while time.monotonic() - started < args.timeout:
                await asyncio.sleep(0.5)
                elapsed = time.monotonic() - started
                live.update(progress_table(world, elapsed))
                if not restocked and storefront.done() and elapsed > 5:
                    await world.restock()
                    restocked = True
                if storefront.done() and world.tally.finished(args.orders) and not world.tasks:
                    break
        finished = world.tally.finished(args.orders)
    finally:
        follower.cancel()
        for task in list(world.tasks):
            task.cancel()
        await world.producer.stop()
    console.print()
    console.print(await summary(args.orders_url, list(world.tally.statuses)))
    if not finished:
        console.print(f"[yellow]Not every order reached a final status within {args.timeout:.0f}s.")
    console.print("Malformed messages were sent to storefront.orders.dlq with the reason in their headers.")
    await managers_view(console, len(world.tally.statuses))
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--orders", type=int, default=30)
    parser.add_argument("--rate", type=float, default=5.0, help="orders per second")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the flow to settle")
    # The broker the local stack runs (fulfillment-infra honours the same variables), unless told otherwise.
    local_kafka = f"127.0.0.1:{LocalLayout.from_env().kafka_port}"
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", local_kafka))
    parser.add_argument("--topic-prefix", default=os.environ.get("TOPIC_PREFIX", ""))
    parser.add_argument("--orders-url", default=os.environ.get("ORDERS_URL", "http://127.0.0.1:8001"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse(sys.argv[1:]))))
