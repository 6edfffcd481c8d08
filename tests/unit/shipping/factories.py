"""Contract payloads as the shipping service receives them, with sensible defaults."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

from shared.contracts.carrier import CarrierStatus, TrackingUpdatedV1
from shared.contracts.envelope import Message
from shared.contracts.orders import OrderCancellationPendingV1, OrderCancelledV1, ShipmentRequestedV1
from shared.contracts.warehouse import ShipmentDispatchedV1, ShipmentScanV1
from tests.unit.deliveries import Delivered, delivered

ORDER_ID = "SO-100045"
SHIPMENT_ID = "SO-100045-LIS-1-1"
TRACKING_NUMBER = "CTT-0001"
PROMISED = date(2026, 12, 2)


def consumed(message_id: str | None = None) -> Delivered:
    return delivered(message_id)


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A time in December 2026 (the promised date is the 2nd)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def shipment_requested(
    shipment_id: str = SHIPMENT_ID,
    order_id: str = ORDER_ID,
    warehouse: str = "LIS-1",
    lines: dict[str, int] | None = None,
    promised_delivery_by: date = PROMISED,
) -> ShipmentRequestedV1:
    return ShipmentRequestedV1.model_validate(
        {
            "order_id": order_id,
            "shipment_id": shipment_id,
            "warehouse": warehouse,
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in (lines or {"TSHIRT-RED-M": 2}).items()],
            "shipping_address": {
                "name": "Ana Silva",
                "line1": "Rua Augusta 12",
                "line2": None,
                "city": "Lisboa",
                "postal_code": "1100-053",
                "country": "PT",
            },
            "shipping_method": "standard",
            "promised_delivery_by": promised_delivery_by.isoformat(),
        }
    )


def scan(shipment_id: str = SHIPMENT_ID) -> ShipmentScanV1:
    return ShipmentScanV1(shipment_id=shipment_id)


def dispatched(
    shipment_id: str = SHIPMENT_ID, tracking_number: str = TRACKING_NUMBER, carrier: str = "CTT"
) -> ShipmentDispatchedV1:
    return ShipmentDispatchedV1(shipment_id=shipment_id, carrier=carrier, tracking_number=tracking_number)


def tracking(
    status: CarrierStatus,
    tracking_number: str = TRACKING_NUMBER,
    location: str | None = "Lisboa",
    detail: str | None = None,
) -> TrackingUpdatedV1:
    return TrackingUpdatedV1(
        tracking_number=tracking_number, carrier="CTT", status=status, location=location, detail=detail
    )


def order_cancelled(order_id: str = ORDER_ID, reason: str = "customer_changed_mind") -> OrderCancelledV1:
    return OrderCancelledV1(order_id=order_id, reason=reason, requested_by="storefront")


def cancellation_pending(
    order_id: str = ORDER_ID, cancellation_id: str | None = None, reason: str = "customer_changed_mind"
) -> OrderCancellationPendingV1:
    return OrderCancellationPendingV1(
        order_id=order_id,
        cancellation_id=cancellation_id or f"{order_id}-C1",
        reason=reason,
        requested_by="storefront",
    )


def message(type_: str, data: Any, occurred_at: datetime | None = None) -> Message[Any]:
    return Message[Any](event_id=uuid4(), type=type_, occurred_at=occurred_at or at(1), data=data)
