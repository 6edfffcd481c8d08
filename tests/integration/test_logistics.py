"""Logistics over HTTP against the running stack: the shipping read model's queues and filters, warehouse scans
posted over HTTP (idempotent with the Kafka topic), and `fulfillment shipments late`.

Each test stocks its own sku in its own warehouse, so filters by warehouse see only that test's shipments.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
from typer.testing import CliRunner

from cli.main import app as cli
from cli.tokens import bearer
from tests.actors import Outside
from tests.factories import new_id, order_placed
from tests.flow import dispatch, shipment_reaches, shipments_created, stock_ready
from tests.stack import RunningStack, eventually


def new_warehouse() -> str:
    return f"W{uuid.uuid4().hex[:8].upper()}"


async def placed_shipment(outside: Outside, stack: RunningStack, warehouse: str, promised: date | None = None) -> str:
    """An order of one sku stocked only in `warehouse`: returns its one shipment id once shipping has it."""
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, warehouse, 5)
    await outside.place(order_placed(order_id, [(sku, 1, "9.90")], promised_delivery_by=promised))
    (created,) = await shipments_created(stack, order_id)
    return str(created["shipment_id"])


async def listed(stack: RunningStack, path: str, shipment_id: str, **params: Any) -> dict[str, Any]:
    """Wait until `path` (a page) lists `shipment_id`; returns its summary."""

    async def probe() -> list[dict[str, Any]]:
        page = await stack.json("shipping", path, page_size=200, **params)
        return list(page["items"]) if page else []

    items = await eventually(
        probe, lambda found: any(s["shipment_id"] == shipment_id for s in found), what=f"{shipment_id} in {path}"
    )
    return next(s for s in items if s["shipment_id"] == shipment_id)


async def post_scan(stack: RunningStack, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.url("shipping"), timeout=10, headers=bearer("logistics")) as client:
        return await client.post("/warehouse/events", json=body)


def scan(type_: str, data: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "type": type_,
        "occurred_at": "2026-11-28T10:15:00Z",
        "data": data,
    }


async def test_the_late_queue_lists_a_shipment_whose_promise_passed(outside: Outside, stack: RunningStack) -> None:
    late = await placed_shipment(outside, stack, new_warehouse(), promised=date.today() - timedelta(days=1))
    on_time = await placed_shipment(outside, stack, new_warehouse(), promised=date.today() + timedelta(days=3))

    summary = await listed(stack, "/shipments/late", late)

    assert summary["status"] == "requested"
    assert summary["promised_delivery_by"] == (date.today() - timedelta(days=1)).isoformat()
    await listed(stack, "/shipments", on_time)  # the read model has it...
    page = await stack.json("shipping", "/shipments/late", page_size=200)
    assert on_time not in {s["shipment_id"] for s in page["items"]}  # ...but it is not late


async def test_the_exception_queue_lists_a_shipment_after_a_carrier_exception(
    outside: Outside, stack: RunningStack
) -> None:
    shipment_id = await placed_shipment(outside, stack, new_warehouse())
    tracking = await dispatch(outside, stack, shipment_id)

    await outside.track(tracking, "exception", detail="address not found")
    summary = await listed(stack, "/shipments/exceptions", shipment_id)

    assert summary["status"] == "exception" and summary["carrier_detail"] == "address not found"
    await outside.track(tracking, "delivered")
    await shipment_reaches(stack, shipment_id, "delivered")

    async def exceptions() -> set[str]:
        page = await stack.json("shipping", "/shipments/exceptions", page_size=200)
        return {s["shipment_id"] for s in page["items"]}

    await eventually(exceptions, lambda ids: shipment_id not in ids, what="delivered shipment leaves the queue")


async def test_shipments_are_filtered_by_status_warehouse_and_carrier_with_pagination(
    outside: Outside, stack: RunningStack
) -> None:
    warehouse, carrier = new_warehouse(), f"CARRIER-{uuid.uuid4().hex[:6]}"
    waiting = await placed_shipment(outside, stack, warehouse)
    gone = await placed_shipment(outside, stack, warehouse)
    await outside.dispatch(gone, f"TN{uuid.uuid4().hex[:12]}", carrier=carrier)
    await listed(stack, "/shipments", gone, status="dispatched", warehouse=warehouse)

    everything = await stack.json("shipping", "/shipments", warehouse=warehouse)
    assert everything["total"] == 2 and {s["shipment_id"] for s in everything["items"]} == {waiting, gone}
    by_carrier = await stack.json("shipping", "/shipments", carrier=carrier)
    assert [s["shipment_id"] for s in by_carrier["items"]] == [gone]
    requested = await stack.json("shipping", "/shipments", warehouse=warehouse, status="requested")
    assert [s["shipment_id"] for s in requested["items"]] == [waiting]

    first = await stack.json("shipping", "/shipments", warehouse=warehouse, page_size=1)
    second = await stack.json("shipping", "/shipments", warehouse=warehouse, page_size=1, page=2)
    assert (first["total"], first["page"], first["page_size"], len(first["items"])) == (2, 1, 1, 1)
    assert {first["items"][0]["shipment_id"], second["items"][0]["shipment_id"]} == {waiting, gone}
    assert (await stack.json("shipping", "/shipments", warehouse=warehouse, page=3, page_size=1))["items"] == []


async def test_the_warehouse_queue_groups_shipments_by_next_step(outside: Outside, stack: RunningStack) -> None:
    warehouse = new_warehouse()
    to_pick = await placed_shipment(outside, stack, warehouse)
    to_pack = await placed_shipment(outside, stack, warehouse)
    to_dispatch = await placed_shipment(outside, stack, warehouse)
    gone = await placed_shipment(outside, stack, warehouse)
    await outside.pick(to_pack)
    await outside.pack(to_dispatch)
    await dispatch(outside, stack, gone)

    def ids(queue: dict[str, Any], step: str) -> list[str]:
        return [s["shipment_id"] for s in queue[step]]

    queue = await eventually(
        lambda: stack.json("shipping", f"/warehouses/{warehouse}/queue"),
        lambda q: (ids(q, "pick"), ids(q, "pack"), ids(q, "dispatch")) == ([to_pick], [to_pack], [to_dispatch]),
        what=f"queue of {warehouse}",
    )
    assert queue["warehouse"] == warehouse and queue["pack"][0]["status"] == "picked"


async def test_a_scan_posted_over_http_counts_once_whichever_way_it_comes_again(
    outside: Outside, stack: RunningStack
) -> None:
    shipment_id = await placed_shipment(outside, stack, new_warehouse())
    picked = scan("ShipmentPicked", {"shipment_id": shipment_id})

    first = await post_scan(stack, picked)
    assert first.status_code == 202 and first.json()["applied"] is True
    await shipment_reaches(stack, shipment_id, "picked")
    again = await post_scan(stack, picked)
    assert again.status_code == 200 and again.json() | {"event_id": None} == {
        "event_id": None, "type": "ShipmentPicked", "shipment_id": shipment_id, "applied": False, "duplicate": True,
    }  # fmt: skip

    # The same event_id over Kafka, even carrying another step, has no second effect...
    await outside.send(
        "warehouse.events", shipment_id, "ShipmentPacked", {"shipment_id": shipment_id}, picked["event_id"]
    )
    # ...while a new one right behind it (same key, same partition) does: so the first was seen and skipped.
    tracking = f"TN{uuid.uuid4().hex[:12]}"
    dispatched = scan("ShipmentDispatched", {"shipment_id": shipment_id, "carrier": "CTT", "tracking_number": tracking})
    await outside.send(
        "warehouse.events", shipment_id, "ShipmentDispatched", dispatched["data"], dispatched["event_id"]
    )
    shown = await shipment_reaches(stack, shipment_id, "dispatched")
    assert [step["status"] for step in shown["steps"]] == ["requested", "picked", "dispatched"]

    # And the other way round: first seen on Kafka, then posted.
    late_post = await post_scan(stack, dispatched)
    assert late_post.status_code == 200 and late_post.json()["duplicate"] is True


async def test_an_invalid_or_unknown_scan_is_refused_with_the_reason(stack: RunningStack) -> None:
    missing = await post_scan(stack, scan("ShipmentDispatched", {"shipment_id": "X-1", "carrier": "CTT"}))
    assert missing.status_code == 422 and "data.tracking_number" in missing.json()["detail"]
    wrong_type = await post_scan(stack, scan("StockReceived", {"sku": "A", "warehouse": "LIS-1", "quantity": 1}))
    assert wrong_type.status_code == 422 and wrong_type.json()["detail"].startswith("type:")
    async with httpx.AsyncClient(base_url=stack.url("shipping"), timeout=10, headers=bearer("logistics")) as client:
        not_json = await client.post(
            "/warehouse/events", content=b"{nope", headers={"content-type": "application/json"}
        )
    assert not_json.status_code == 422 and "JSON" in not_json.json()["detail"]

    unknown = await post_scan(stack, scan("ShipmentPicked", {"shipment_id": "NO-SUCH-SHIPMENT"}))
    assert unknown.status_code == 404 and unknown.json() == {"detail": "unknown shipment 'NO-SUCH-SHIPMENT'"}


async def test_the_cli_prints_the_late_shipments(outside: Outside, stack: RunningStack) -> None:
    late = await placed_shipment(outside, stack, new_warehouse(), promised=date.today() - timedelta(days=2))
    await listed(stack, "/shipments/late", late)

    result = CliRunner().invoke(
        cli, ["shipments", "late", "--page-size", "200"], env={"SHIPPING_URL": stack.url("shipping"), "COLUMNS": "200"}
    )

    assert result.exit_code == 0, result.output
    assert late in result.output
