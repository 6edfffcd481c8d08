"""Hostile bodies on shipping's `POST /warehouse/events`, against the running service: a 4xx with a JSON reason
naming the field (never a 500), and the next valid scan of the same shipment still applies."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from cli.tokens import bearer
from tests.actors import Outside
from tests.factories import new_id, order_placed
from tests.flow import shipment_reaches, shipments_created, stock_ready
from tests.stack import RunningStack


def scan(shipment_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "ShipmentPicked",
        "occurred_at": "2026-11-28T10:15:00Z",
        "data": {"shipment_id": shipment_id},
        **fields,
    }


async def test_hostile_scans_get_a_422_naming_the_field_and_the_next_scan_applies(
    outside: Outside, stack: RunningStack
) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 2)
    await outside.place(order_placed(order_id, [(sku, 1, "4.00")]))
    (created,) = await shipments_created(stack, order_id)
    shipment_id = str(created["shipment_id"])
    nested = b'{"type": "ShipmentPicked", "data": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"

    async with httpx.AsyncClient(base_url=stack.url("shipping"), timeout=10, headers=bearer("logistics")) as client:
        deep = await client.post("/warehouse/events", content=nested, headers={"content-type": "application/json"})
        unix_time = await client.post("/warehouse/events", json=scan(shipment_id, occurred_at=1700000000))
        far_future = await client.post("/warehouse/events", json=scan(shipment_id, occurred_at="9999-12-31T23:59:59Z"))
        nul = await client.post(
            "/warehouse/events",
            json=scan(shipment_id, type="ShipmentDispatched", data={
                "shipment_id": shipment_id, "carrier": "CTT\u0000", "tracking_number": new_id("TN")}),
        )  # fmt: skip
        valid = await client.post("/warehouse/events", json=scan(shipment_id))

    assert (deep.status_code, deep.json()) == (422, {"detail": "value nests deeper than 64 levels"})
    assert unix_time.status_code == 422
    assert unix_time.json()["detail"].startswith("occurred_at: must be an RFC 3339 date-time string")
    assert far_future.status_code == 422
    assert far_future.json()["detail"].startswith("occurred_at: '9999-12-31T23:59:59Z' is in the future")
    assert nul.status_code == 422
    assert nul.json() == {"detail": "data.carrier: must not contain NUL characters (\\u0000): they cannot be stored"}
    assert valid.status_code == 202 and valid.json()["applied"] is True
    await shipment_reaches(stack, shipment_id, "picked")
