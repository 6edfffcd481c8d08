"""Received events for one order, as customer_service's consumer would record them (in-memory, no Kafka)."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.customer_service.projections.events import ReceivedEvent, iso

ORDER_ID = "SO-100045"
SKU = "TSHIRT-RED-M"
SHIPMENT_ID = f"{ORDER_ID}-LIS-1-1"
TRACKING = "TN123"
START = datetime(2026, 11, 28, 10, 15, tzinfo=UTC)
_seq = itertools.count(1)


def at(minutes: float) -> str:
    return iso(START + timedelta(minutes=minutes))


def event(source: str, type_: str, minutes: float, data: dict[str, Any], order_id: str = ORDER_ID) -> ReceivedEvent:
    return ReceivedEvent(
        event_id=str(uuid.uuid4()),
        source=source,
        type=type_,
        occurred_at=at(minutes),
        order_id=order_id,
        data={"order_id": order_id, **data},
        seq=next(_seq),
    )


def accepted(order_id: str = ORDER_ID, customer_id: str = "C-881", quantity: int = 2) -> ReceivedEvent:
    return event(
        "orders",
        "OrderAccepted",
        0,
        {
            "customer": {"id": customer_id, "email": "Ana@example.com", "name": "Ana Silva"},
            "shipping_address": {
                "name": "Ana Silva",
                "line1": "Rua Augusta 12",
                "line2": None,
                "city": "Lisboa",
                "postal_code": "1100-053",
                "country": "PT",
            },
            "lines": [{"sku": SKU, "quantity": quantity, "unit_price": "19.90"}],
            "currency": "EUR",
            "total": str(19.90 * quantity)[:5],
            "shipping_method": "standard",
            "promised_delivery_by": "2026-12-02",
        },
        order_id,
    )


def status(minutes: float, new: str, previous: str | None) -> ReceivedEvent:
    return event("orders", "OrderStatusChanged", minutes, {"status": new, "previous": previous})


def full_flow() -> list[ReceivedEvent]:
    """Placed, reserved, shipped, delivered: 13 events from orders, inventory and shipping."""
    lines = [{"sku": SKU, "quantity": 2}]
    shipment = {"shipment_id": SHIPMENT_ID, "warehouse": "LIS-1"}
    return [
        accepted(),
        event("orders", "StockReservationRequested", 0.01, {"lines": lines}),
        status(0.02, "received", None),
        event("inventory", "StockReserved", 1, {"allocations": [{"sku": SKU, "warehouse": "LIS-1", "quantity": 2}]}),
        event("orders", "ShipmentRequested", 2, {**shipment, "lines": lines}),
        status(2.01, "reserved", "received"),
        event("shipping", "ShipmentCreated", 3, {**shipment, "lines": lines, "promised_delivery_by": "2026-12-02"}),
        event("shipping", "ShipmentPicked", 60, shipment),
        event("shipping", "ShipmentPacked", 70, shipment),
        event(
            "shipping",
            "ShipmentDispatched",
            80,
            {**shipment, "lines": lines, "carrier": "CTT", "tracking_number": TRACKING},
        ),
        status(81, "shipped", "reserved"),
        tracking(600, "delivered"),
        event(
            "shipping",
            "ShipmentDelivered",
            601,
            {**shipment, "lines": lines, "delivered_at": at(600), "promised_delivery_by": "2026-12-02", "late": False},
        ),
        status(602, "delivered", "shipped"),
    ]


def tracking(minutes: float, status_: str, reported: float | None = None, applied: bool = True) -> ReceivedEvent:
    return event(
        "shipping",
        "ShipmentTrackingUpdated",
        minutes,
        {"shipment_id": SHIPMENT_ID, "tracking_number": TRACKING, "carrier": "CTT", "status": status_,
         "location": "Lisboa", "detail": None, "reported_at": at(minutes if reported is None else reported),
         "applied": applied},
    )  # fmt: skip


def case_opened(case_id: str = "CASE-1", minutes: float = 700) -> ReceivedEvent:
    return event(
        "customer_service",
        "CaseOpened",
        minutes,
        {"case_id": case_id, "category": "late_delivery", "summary": "where is it", "agent_id": "ag-1"},
    )
