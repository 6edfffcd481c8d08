"""Replicas: partitions move between processes mid-stream, two inventory processes race for the same stock,
and a process dies between committing a batch and publishing it. Real processes, broker and store."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import pytest

from tests.actors import Outside
from tests.factories import new_id, order_placed
from tests.flow import order, order_reaches, shipments, shipments_created, stock, stock_in, stock_ready
from tests.integration.conftest import Infrastructure, outside_of, own_stack
from tests.kafka_probe import read_all
from tests.processes import ServiceProcess
from tests.stack import RunningStack, eventually, free_port


@pytest.fixture(scope="module")
def stack(infrastructure: Infrastructure, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with own_stack(infrastructure, tmp_path_factory.mktemp("scale-out"), f"so{uuid.uuid4().hex[:8]}") as running:
        yield running


@pytest.fixture(scope="module")
async def outside(stack: RunningStack, infrastructure: Infrastructure) -> AsyncIterator[Outside]:
    async with outside_of(stack, infrastructure) as world:
        yield world


async def events_about(
    infrastructure: Infrastructure, stack: RunningStack, topic: str, keys: set[str], expect: int
) -> list[dict[str, object]]:
    records = await read_all(
        infrastructure.kafka_bootstrap_servers, stack.env["TOPIC_PREFIX"] + topic, expect=expect, within=20
    )
    # At least once on the wire: a new owner re-sends what the old one may not have published, under the same
    # event ids, which consumers skip. Counted once here, as they count.
    unique: dict[str, dict[str, object]] = {}
    for record in records:
        if record.key is not None and record.key.decode() in keys:
            message = json.loads(record.value)
            unique.setdefault(str(message["event_id"]), message)
    return list(unique.values())


async def test_partitions_moving_between_replicas_mid_stream_lose_and_duplicate_nothing(
    outside: Outside, stack: RunningStack, infrastructure: Infrastructure
) -> None:
    sku = new_id("SKU")
    await stock_ready(outside, stack, sku, "LIS-1", 100)
    order_ids = [new_id("SO") for _ in range(40)]

    async def place_all() -> None:
        for order_id in order_ids:
            await outside.place(order_placed(order_id, [(sku, 1, "1.00")]))
            await asyncio.sleep(0.1)

    placing = asyncio.create_task(place_all())
    await asyncio.sleep(1.0)
    joined = [stack.add_replica(name, wait=False) for name in ("orders", "inventory", "shipping")]
    for replica in joined:
        await asyncio.to_thread(replica.wait_ready)
    await asyncio.sleep(0.5)
    stack.remove_replica(joined[0])  # the new orders replica leaves again: its partitions move back mid-stream
    await placing

    for order_id in order_ids:
        await shipments_created(stack, order_id)
    counts = [len(await shipments(stack, order_id)) for order_id in order_ids]
    assert counts == [1] * 40
    level = await stock_in(stack, sku, "LIS-1")
    assert level == {"warehouse": "LIS-1", "on_hand": 100, "allocated": 40, "available": 60}
    # Each order's request reached the topic (at least once) and had exactly one effect.
    requested = await events_about(infrastructure, stack, "orders.events.v1", set(order_ids), expect=40)
    assert {e["data"]["order_id"] for e in requested if e["type"] == "StockReservationRequested"} == set(order_ids)  # type: ignore[index]
    reserved = await events_about(infrastructure, stack, "inventory.events.v1", set(order_ids), expect=40)
    assert len({e["event_id"] for e in reserved if e["type"] == "StockReserved"}) == 40
    for replica in joined[1:]:
        stack.remove_replica(replica)


async def test_two_inventory_processes_racing_twenty_orders_for_five_units_allocate_five_and_fill_fifo(
    outside: Outside, stack: RunningStack, infrastructure: Infrastructure
) -> None:
    sku = new_id("SKU")
    await stock_ready(outside, stack, sku, "LIS-1", 5)
    rival = ServiceProcess("inventory", free_port(), stack.env, stack.log_dir / "inventory-rival.log").start()
    await asyncio.to_thread(rival.wait_ready)
    order_ids = [new_id("SO") for _ in range(20)]
    for index, order_id in enumerate(order_ids):
        await outside.place(order_placed(order_id, [(sku, 1, "1.00")]))
        if index == 10:
            rival.kill()  # whichever process owned the log, the other one (or a zombie) takes over mid-race
        await asyncio.sleep(0.05)

    async def statuses() -> list[str]:
        return [((await order(stack, order_id)) or {}).get("status", "?") for order_id in order_ids]

    final = await eventually(
        statuses, lambda s: s.count("reserved") + s.count("backordered") == 20, within=90, what="20 orders settled"
    )
    assert final.count("reserved") == 5 and final.count("backordered") == 15
    assert await stock_in(stack, sku, "LIS-1") == {"warehouse": "LIS-1", "on_hand": 5, "allocated": 5, "available": 0}

    # Receipts fill the backorders first come, first served: in the order inventory queued them.
    for _ in range(15):
        await outside.receive_stock(sku, "LIS-1", 1)
    await eventually(statuses, lambda s: s.count("reserved") == 20, within=90, what="every backorder filled")
    events = await events_about(infrastructure, stack, "inventory.events.v1", set(order_ids), expect=35)

    def by_time(type_: str) -> list[str]:
        chosen = [e for e in events if e["type"] == type_]
        chosen.sort(key=lambda e: datetime.fromisoformat(str(e["occurred_at"]).replace("Z", "+00:00")))
        return [str(e["data"]["order_id"]) for e in chosen]  # type: ignore[index]

    backordered = by_time("StockBackordered")
    filled = [order_id for order_id in by_time("StockReserved") if order_id in set(backordered)]
    assert len(backordered) == 15 and filled == backordered
    assert (await stock(stack, sku) or {})["allocated"] == 20


async def test_a_process_dying_between_commit_and_publish_publishes_once_after_restart(
    outside: Outside, stack: RunningStack, infrastructure: Infrastructure
) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 5)
    orders = stack.services["orders"]
    orders.terminate()
    faulty = ServiceProcess(
        "orders",
        orders.port,
        {**stack.env, "FAULT_EXIT_BEFORE_PUBLISHING": "Order.Placed"},
        stack.log_dir / "faulty.log",
    ).start()
    await asyncio.to_thread(faulty.wait_ready)

    await outside.place(order_placed(order_id, [(sku, 2, "1.00")]))
    assert faulty.proc is not None
    code = await asyncio.to_thread(faulty.proc.wait, 60)
    assert code == 70  # it stored the order, then died before publishing anything about it
    faulty.kill()

    stack.start("orders")
    await order_reaches(stack, order_id, "reserved")
    published = await events_about(infrastructure, stack, "orders.events.v1", {order_id}, expect=1)
    assert [e["type"] for e in published].count("StockReservationRequested") == 1
    assert (await stock(stack, sku) or {})["allocated"] == 2
