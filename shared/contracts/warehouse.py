"""Topic `warehouse.events`: what the warehouse system / logistics team sends (fixed by CONTRACT.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from shared.contracts.envelope import Contract, OrderId, Quantity, Sku, WarehouseCode

ShipmentId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._-]+$")]
TrackingNumber = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Carrier = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class StockReceivedV1(Contract):
    sku: Sku
    warehouse: WarehouseCode
    quantity: Quantity


class StockAdjustedV1(Contract):
    sku: Sku
    warehouse: WarehouseCode
    delta: Annotated[int, Field(strict=True, ge=-1_000_000, le=1_000_000)]
    reason: Reason

    @field_validator("delta")
    @classmethod
    def _not_zero(cls, delta: int) -> int:
        if delta == 0:
            raise ValueError("delta must not be 0")
        return delta


class ShipmentScanV1(Contract):
    """ShipmentPicked and ShipmentPacked carry only the shipment."""

    shipment_id: ShipmentId


class ShipmentDispatchedV1(Contract):
    shipment_id: ShipmentId
    carrier: Carrier
    tracking_number: TrackingNumber


class ReturnedLine(Contract):
    sku: Sku
    quantity: Quantity
    condition: Literal["resellable", "damaged"]


class ReturnReceivedV1(Contract):
    order_id: OrderId
    lines: Annotated[list[ReturnedLine], Field(min_length=1, max_length=200)]


WAREHOUSE_TYPES: dict[str, type[Contract]] = {
    "StockReceived": StockReceivedV1,
    "StockAdjusted": StockAdjustedV1,
    "ShipmentPicked": ShipmentScanV1,
    "ShipmentPacked": ShipmentScanV1,
    "ShipmentDispatched": ShipmentDispatchedV1,
    "ReturnReceived": ReturnReceivedV1,
}
