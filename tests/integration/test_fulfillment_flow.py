"""The fulfillment flow end to end: the four services as processes, the real broker and store — every scenario
once with one process per service and once with two replicas of every service.

Each test uses its own skus and order ids, so tests share the running stack without seeing each other.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.actors import Outside
from tests.factories import new_id, order_placed
from tests.flow import (
    deliver_all,
    dispatch,
    order,
    order_reaches,
    shipment_reaches,
    shipments,
    shipments_created,
    stock,
    stock_in,
    stock_ready,
)
from tests.integration.conftest import Infrastructure, outside_of, own_stack
from tests.kafka_probe import read_all
from tests.stack import RunningStack, eventually


@pytest.fixture(scope="module", params=[1, 2], ids=["one-replica", "two-replicas"])
def stack(
    request: pytest.FixtureRequest, infrastructure: Infrastructure, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    """This module's own stack, with `param` processes per service."""
    log_dir = tmp_path_factory.mktemp(f"flow-{request.param}")
    with own_stack(infrastructure, log_dir, f"ff{uuid.uuid4().hex[:6]}r{request.param}", request.param) as running:
        yield running


@pytest.fixture(scope="module")
async def outside(stack: RunningStack, infrastructure: Infrastructure) -> AsyncIterator[Outside]:
    async with outside_of(stack, infrastructure) as world:
        yield world


async def test_an_order_flows_from_placed_to_delivered(outside: Outside, stack: RunningStack) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 10)

    await outside.place(order_placed(order_id, [(sku, 2, "19.90")]))
    await order_reaches(stack, order_id, "reserved")
    assert await stock_in(stack, sku, "LIS-1") == {"warehouse": "LIS-1", "on_hand": 10, "allocated": 2, "available": 8}

    (created,) = await shipments_created(stack, order_id)
    assert created["warehouse"] == "LIS-1" and created["lines"] == [{"sku": sku, "quantity": 2}]
    tracking = await dispatch(outside, stack, created["shipment_id"])
    await order_reaches(stack, order_id, "shipped")
    # The allocation is consumed at dispatch: the units have left the warehouse.
    assert await stock_in(stack, sku, "LIS-1") == {"warehouse": "LIS-1", "on_hand": 8, "allocated": 0, "available": 8}

    await outside.track(tracking, "picked_up")
    await outside.track(tracking, "in_transit")
    await outside.track(tracking, "delivered")
    delivered = await order_reaches(stack, order_id, "delivered")
    assert delivered["lines"][0] | {"unit_price": None} == {
        "sku": sku, "unit_price": None, "ordered": 2, "reserved": 2, "backordered": 0,
        "shipped": 2, "delivered": 2, "returned": 0, "refunded": 0,
    }  # fmt: skip
    final = await shipment_reaches(stack, created["shipment_id"], "delivered")
    assert final["tracking_number"] == tracking and final["late"] is False
    assert [t["status"] for t in final["tracking"]] == ["picked_up", "in_transit", "delivered"]


async def test_a_backorder_is_filled_when_stock_arrives(outside: Outside, stack: RunningStack) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 1)

    await outside.place(order_placed(order_id, [(sku, 3, "5.00")]))
    backordered = await order_reaches(stack, order_id, "backordered")
    assert backordered["lines"][0]["backordered"] == 3 and backordered["lines"][0]["reserved"] == 0
    assert (await stock(stack, sku) or {})["backordered"] == 3
    assert await shipments(stack, order_id) == []

    await outside.receive_stock(sku, "LIS-1", 5)
    await order_reaches(stack, order_id, "reserved")
    assert await stock_in(stack, sku, "LIS-1") == {"warehouse": "LIS-1", "on_hand": 6, "allocated": 3, "available": 3}
    assert (await stock(stack, sku) or {})["backordered"] == 0
    await shipments_created(stack, order_id)


async def test_an_order_is_split_over_two_warehouses(outside: Outside, stack: RunningStack) -> None:
    shirt, mug, order_id = new_id("SKU"), new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, shirt, "LIS-1", 5)
    await stock_ready(outside, stack, mug, "MAD-1", 5)

    await outside.place(order_placed(order_id, [(shirt, 1, "19.90"), (mug, 2, "8.50")]))
    await order_reaches(stack, order_id, "reserved")
    found = sorted(await shipments_created(stack, order_id, 2), key=lambda s: s["warehouse"])
    assert [(s["warehouse"], s["lines"]) for s in found] == [
        ("LIS-1", [{"sku": shirt, "quantity": 1}]),
        ("MAD-1", [{"sku": mug, "quantity": 2}]),
    ]
    assert len({s["shipment_id"] for s in found}) == 2

    first = await dispatch(outside, stack, found[0]["shipment_id"])
    await order_reaches(stack, order_id, "partially_shipped")
    await outside.track(first, "delivered")
    second = await dispatch(outside, stack, found[1]["shipment_id"])
    await outside.track(second, "delivered")
    await order_reaches(stack, order_id, "delivered")


async def test_cancellation_before_reservation_leaves_no_allocation(outside: Outside, stack: RunningStack) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 4)
    stack.terminate("inventory")  # inventory is down (every replica): nothing gets reserved for now
    try:
        await outside.place(order_placed(order_id, [(sku, 2, "3.00")]))
        await order_reaches(stack, order_id, "received")
        await outside.cancel(order_id)
        cancelled = await order_reaches(stack, order_id, "cancelled")
        assert cancelled["cancellation"]["requested_by"] == "storefront"
    finally:
        stack.start("inventory")
    # Inventory catches up: it reserves, then sees the cancellation and releases.
    await eventually(
        lambda: stock(stack, sku),
        lambda s: s is not None and s["warehouses"][0]["allocated"] == 0 and s["available"] == 4,
        what="stock released after cancellation",
    )
    await asyncio.sleep(2)
    assert await shipments(stack, order_id) == []
    assert (await order(stack, order_id) or {})["status"] == "cancelled"


async def test_cancellation_after_reservation_releases_the_stock(outside: Outside, stack: RunningStack) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 4)
    await outside.place(order_placed(order_id, [(sku, 3, "3.00")]))
    await order_reaches(stack, order_id, "reserved")
    (created,) = await shipments_created(stack, order_id)

    await outside.cancel(order_id)
    await order_reaches(stack, order_id, "cancelled")
    await eventually(
        lambda: stock(stack, sku),
        lambda s: s is not None and s["allocated"] == 0 and s["available"] == 4,
        what="stock released",
    )
    await shipment_reaches(stack, created["shipment_id"], "cancelled")


async def test_cancellation_after_dispatch_is_refused_and_the_order_continues(
    outside: Outside, stack: RunningStack
) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 4)
    await outside.place(order_placed(order_id, [(sku, 1, "3.00")]))
    (created,) = await shipments_created(stack, order_id)
    tracking = await dispatch(outside, stack, created["shipment_id"])
    await order_reaches(stack, order_id, "shipped")

    await outside.cancel(order_id, "too_slow")
    refused = await eventually(
        lambda: order(stack, order_id), lambda o: o is not None and o["cancellation_refusals"], what="refusal"
    )
    assert refused is not None and refused["status"] == "shipped" and refused["cancellation"] is None
    assert "return" in json.dumps(refused["cancellation_refusals"]).lower()
    await outside.track(tracking, "delivered")
    await order_reaches(stack, order_id, "delivered")


async def _decided(stack: RunningStack, order_id: str) -> dict[str, Any]:
    """The order once its cancellation is decided: cancelled, or refused with nothing left pending."""
    found = await eventually(
        lambda: order(stack, order_id),
        lambda o: (
            o is not None
            and o["cancellation_pending"] is None
            and (o["cancellation"] is not None or bool(o["cancellation_refusals"]))
        ),
        what=f"{order_id}: cancellation decided",
    )
    assert found is not None
    return found


async def _consistent(stack: RunningStack, sku: str, order_id: str, shipment_id: str, on_hand_before: int) -> str:
    """Either cancelled with nothing shipped and the stock all back, or refused with the parcel gone and its units
    off on hand; never one service's story against another's. Returns which."""
    decided = await _decided(stack, order_id)
    units = decided["lines"][0]["ordered"]
    if decided["cancellation"] is not None:
        assert decided["status"] == "cancelled" and decided["cancellation_refusals"] == []
        assert decided["cancellation"]["refund_amount"] == decided["totals"]["paid"]
        assert (await shipment_reaches(stack, shipment_id, "cancelled"))["carrier"] is None
        assert decided["lines"][0]["shipped"] == 0
        outcome, on_hand = "cancelled", on_hand_before
    else:
        assert decided["cancellation_refusals"][0]["refusal"] == "already dispatched; request a return instead"
        assert (await order_reaches(stack, order_id, "shipped"))["cancellation"] is None
        await shipment_reaches(stack, shipment_id, "dispatched")
        outcome, on_hand = "refused", on_hand_before - units
    await eventually(
        lambda: stock_in(stack, sku, "LIS-1"),
        lambda s: (s["on_hand"], s["allocated"]) == (on_hand, 0),
        what=f"{sku}: {on_hand} on hand, nothing allocated after the order was {outcome}",
    )
    return outcome


async def test_a_cancellation_racing_the_dispatch_scan_ends_consistent(outside: Outside, stack: RunningStack) -> None:
    """The fault harness's race: the warehouse's dispatch scan (to shipping) and the customer's cancellation (to
    orders) sent at once, for several orders; topics are not ordered with each other, so either may win."""
    placed = []
    for _ in range(3):
        sku, order_id = new_id("SKU"), new_id("SO")
        await stock_ready(outside, stack, sku, "LIS-1", 5)
        await outside.place(order_placed(order_id, [(sku, 3, "3.00")]))
        placed.append((sku, order_id))
    created = {order_id: (await shipments_created(stack, order_id))[0]["shipment_id"] for _, order_id in placed}
    for _, order_id in placed:
        await order_reaches(stack, order_id, "reserved")

    await asyncio.gather(
        *(outside.dispatch(created[order_id], f"TN{order_id.replace('-', '')[-14:]}") for _, order_id in placed),
        *(outside.cancel(order_id) for _, order_id in placed),
    )

    for sku, order_id in placed:
        await _consistent(stack, sku, order_id, created[order_id], on_hand_before=5)


async def test_a_dispatch_orders_has_not_seen_makes_shipping_refuse_the_cancellation(
    outside: Outside, stack: RunningStack
) -> None:
    """The defect found by the fault harness, made certain: shipping dispatched, orders (down) had not heard of it
    when the cancellation came. Orders used to cancel and refund while the parcel left; shipping now refuses."""
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 5)
    await outside.place(order_placed(order_id, [(sku, 3, "3.00")]))
    (created,) = await shipments_created(stack, order_id)
    await order_reaches(stack, order_id, "reserved")
    stack.terminate("orders")
    try:
        await outside.dispatch(created["shipment_id"], f"TN{order_id.replace('-', '')[-14:]}")
        await shipment_reaches(stack, created["shipment_id"], "dispatched")
        await outside.cancel(order_id)
    finally:
        stack.start("orders")

    assert await _consistent(stack, sku, order_id, created["shipment_id"], on_hand_before=5) == "refused"


async def test_a_carrier_exception_then_delivery(outside: Outside, stack: RunningStack) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 2)
    await outside.place(order_placed(order_id, [(sku, 1, "3.00")]))
    (created,) = await shipments_created(stack, order_id)
    tracking = await dispatch(outside, stack, created["shipment_id"])

    await outside.track(tracking, "exception", detail="address not found")
    await shipment_reaches(stack, created["shipment_id"], "exception")
    await order_reaches(stack, order_id, "shipped")
    await outside.track(tracking, "delivered")
    await shipment_reaches(stack, created["shipment_id"], "delivered")
    await order_reaches(stack, order_id, "delivered")


async def test_duplicate_and_out_of_order_tracking_updates(outside: Outside, stack: RunningStack) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 2)
    await outside.place(order_placed(order_id, [(sku, 1, "3.00")]))
    (created,) = await shipments_created(stack, order_id)
    tracking = await dispatch(outside, stack, created["shipment_id"])
    now = datetime.now(UTC)

    def at(minutes: int) -> str:
        return (now + timedelta(minutes=minutes)).isoformat()

    await outside.track(tracking, "out_for_delivery", occurred_at=at(30))
    await outside.track(tracking, "in_transit", occurred_at=at(10))  # older: arrives late
    await shipment_reaches(stack, created["shipment_id"], "out_for_delivery")
    await outside.track(tracking, "delivered", occurred_at=at(60))
    await outside.track(tracking, "delivered", occurred_at=at(60))  # a carrier retry under a new id
    await outside.track(tracking, "in_transit", occurred_at=at(70))  # never back from delivered
    await order_reaches(stack, order_id, "delivered")
    await asyncio.sleep(2)
    final = await shipment_reaches(stack, created["shipment_id"], "delivered")
    statuses = [(t["status"], t["applied"]) for t in final["tracking"]]
    assert statuses[0] == ("in_transit", False) and statuses[1] == ("out_for_delivery", True)
    assert ("delivered", True) in statuses and statuses[-1] == ("in_transit", False)
    assert (await order(stack, order_id) or {})["lines"][0]["delivered"] == 1


async def test_a_return_with_one_resellable_and_one_damaged_unit(outside: Outside, stack: RunningStack) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 5)
    await outside.place(order_placed(order_id, [(sku, 2, "19.90")]))
    await deliver_all(outside, stack, order_id)
    assert await stock_in(stack, sku, "LIS-1") == {"warehouse": "LIS-1", "on_hand": 3, "allocated": 0, "available": 3}

    await outside.request_return(order_id, [(sku, 2)])
    await order_reaches(stack, order_id, "return_requested")
    await outside.return_received(order_id, [(sku, 1, "resellable"), (sku, 1, "damaged")])
    refunded = await order_reaches(stack, order_id, "refunded")
    assert refunded["totals"]["refunded"] == "39.80"
    assert refunded["lines"][0]["returned"] == 2 and refunded["lines"][0]["refunded"] == 2
    (authorization,) = refunded["returns"]
    assert authorization["refund_amount"] == "39.80"
    # Only the resellable unit is back on hand.
    await eventually(lambda: stock_in(stack, sku, "LIS-1"), lambda s: s["on_hand"] == 4, what="restocked")


async def test_a_return_of_more_than_was_delivered_is_declined(outside: Outside, stack: RunningStack) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 5)
    await outside.place(order_placed(order_id, [(sku, 1, "10.00")]))
    await deliver_all(outside, stack, order_id)

    await outside.request_return(order_id, [(sku, 2)])
    declined = await eventually(
        lambda: order(stack, order_id), lambda o: o is not None and o["returns"], what="return decided"
    )
    assert declined is not None
    (authorization,) = declined["returns"]
    assert authorization["status"] == "declined" and sku in authorization["refusal"]
    assert declined["status"] == "delivered" and declined["lines"][0]["returned"] == 0


async def test_the_same_order_placed_twice_makes_one_order(outside: Outside, stack: RunningStack) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 10)
    placed = order_placed(order_id, [(sku, 2, "1.00")])
    event_id = str(uuid.uuid4())
    await outside.place(placed, event_id)
    await outside.place(placed, event_id)  # redelivery of the same event
    await outside.place(placed)  # the same order under a new event id
    await order_reaches(stack, order_id, "reserved")
    await asyncio.sleep(3)
    assert (await stock(stack, sku) or {})["allocated"] == 2
    assert len(await shipments(stack, order_id)) == 1


async def test_a_redelivered_internal_event_has_no_second_effect(
    outside: Outside, stack: RunningStack, infrastructure: Infrastructure
) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 10)
    await outside.place(order_placed(order_id, [(sku, 2, "1.00")]))
    await shipments_created(stack, order_id)

    # Replay, byte for byte, what orders and inventory published about this order (a relay re-send).
    prefix = stack.env["TOPIC_PREFIX"]
    replayed: dict[str, list[str]] = {}
    for topic in ("orders.events.v1", "inventory.events.v1"):
        records = await read_all(infrastructure.kafka_bootstrap_servers, prefix + topic, expect=1, within=10)
        for record in records:
            if record.key == order_id.encode():
                await outside.kafka.send_and_wait(prefix + topic, record.value, key=record.key)
                replayed.setdefault(topic, []).append(json.loads(record.value)["type"])
    assert replayed == {
        "orders.events.v1": [
            "OrderAccepted",
            "StockReservationRequested",
            "OrderStatusChanged",
            "ShipmentRequested",
            "OrderStatusChanged",
        ],
        "inventory.events.v1": ["StockReserved"],
    }
    await asyncio.sleep(4)
    assert (await stock(stack, sku) or {})["allocated"] == 2
    assert len(await shipments(stack, order_id)) == 1
    assert (await order(stack, order_id) or {})["lines"][0]["reserved"] == 2


async def test_twenty_concurrent_orders_for_five_units_allocate_exactly_five(
    outside: Outside, stack: RunningStack
) -> None:
    sku = new_id("SKU")
    await stock_ready(outside, stack, sku, "LIS-1", 5)
    order_ids = [new_id("SO") for _ in range(20)]
    await asyncio.gather(*(outside.place(order_placed(o, [(sku, 1, "2.00")])) for o in order_ids))

    async def statuses() -> list[str]:
        found = await asyncio.gather(*(order(stack, o) for o in order_ids))
        return [f["status"] if f else "missing" for f in found]

    final = await eventually(
        statuses, lambda s: s.count("reserved") + s.count("backordered") == 20, within=120, what="20 orders decided"
    )
    assert final.count("reserved") == 5 and final.count("backordered") == 15
    level = await stock_in(stack, sku, "LIS-1")
    assert level == {"warehouse": "LIS-1", "on_hand": 5, "allocated": 5, "available": 0}


async def test_a_service_killed_mid_flow_recovers_without_duplicates(outside: Outside, stack: RunningStack) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 5)
    stack.kill("shipping")
    try:
        await outside.place(order_placed(order_id, [(sku, 2, "1.00")]))
        await order_reaches(stack, order_id, "reserved")
        stack.kill("orders")  # crash right after it asked for the shipment
    finally:
        stack.start("shipping", "orders")
    await shipments_created(stack, order_id)
    await deliver_all(outside, stack, order_id)
    await asyncio.sleep(2)
    assert len(await shipments(stack, order_id)) == 1
    assert (await stock(stack, sku) or {})["on_hand"] == 3
    assert (await order(stack, order_id) or {})["lines"][0]["delivered"] == 2


async def test_malformed_storefront_messages_go_to_the_dlq_and_change_nothing(
    outside: Outside, stack: RunningStack, infrastructure: Infrastructure
) -> None:
    order_id = new_id("SO")
    bad_quantity = order_placed(order_id, [("SKU-X", 0, "1.00")])
    bad_country = order_placed(order_id)
    bad_country["shipping_address"]["country"] = "XX"
    topic = stack.env["TOPIC_PREFIX"] + "storefront.orders"
    await outside.place(bad_quantity)
    await outside.place(bad_country)
    await outside.kafka.send_and_wait(topic, b"not json at all", key=order_id.encode())
    await outside.send("storefront.orders", order_id, "OrderShipped", {"order_id": order_id})

    dead = await read_all(infrastructure.kafka_bootstrap_servers, topic + ".dlq", expect=4, within=30)
    mine = [r for r in dead if r.key == order_id.encode()]
    errors = sorted(dict(r.headers)["error"].decode() for r in mine)
    assert len(mine) == 4, errors
    assert any("data.lines.0.quantity" in e for e in errors)
    assert any("data.shipping_address.country" in e for e in errors)
    assert any("not valid JSON" in e for e in errors)
    assert any("unknown event type 'OrderShipped'" in e for e in errors)
    assert (await stack.get("orders", f"/orders/{order_id}")).status_code == 404
