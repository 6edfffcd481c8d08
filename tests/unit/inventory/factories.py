"""Builders of the messages inventory consumes, valid unless a test says otherwise."""

from __future__ import annotations

from services.inventory.application import InventoryApplication
from shared.contracts.orders import OrderCancelledV1, SkuQuantity, StockReservationRequestedV1
from shared.contracts.shipping import ShipmentDispatchedV1
from shared.contracts.warehouse import ReturnedLine, ReturnReceivedV1, StockAdjustedV1, StockReceivedV1
from tests.unit.deliveries import Delivered, delivered

SKU = "TSHIRT-RED-M"
OTHER_SKU = "MUG-BLUE"


def inventory(low_stock_threshold: int = 5, low_stock_thresholds: dict[str, int] | None = None) -> InventoryApplication:
    return InventoryApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        low_stock_threshold=low_stock_threshold,
        low_stock_thresholds=low_stock_thresholds,
    )


def delivery(message_id: str | None = None) -> Delivered:
    """One delivery of a message; pass the same id to deliver the same message again."""
    return delivered(message_id)


def stock_received(warehouse: str = "LIS-1", quantity: int = 10, sku: str = SKU) -> StockReceivedV1:
    return StockReceivedV1(sku=sku, warehouse=warehouse, quantity=quantity)


def stock_adjusted(
    delta: int, warehouse: str = "LIS-1", sku: str = SKU, reason: str = "cycle count"
) -> StockAdjustedV1:
    return StockAdjustedV1(sku=sku, warehouse=warehouse, delta=delta, reason=reason)


def reservation_requested(order_id: str, *lines: tuple[str, int]) -> StockReservationRequestedV1:
    return StockReservationRequestedV1(
        order_id=order_id, lines=[SkuQuantity(sku=sku, quantity=quantity) for sku, quantity in lines]
    )


def order_cancelled(order_id: str) -> OrderCancelledV1:
    return OrderCancelledV1(order_id=order_id, reason="customer_changed_mind", requested_by="storefront")


def shipment_dispatched(
    order_id: str, warehouse: str, *lines: tuple[str, int], shipment_id: str | None = None
) -> ShipmentDispatchedV1:
    return ShipmentDispatchedV1(
        shipment_id=shipment_id or f"{order_id}-{warehouse}-1",
        order_id=order_id,
        warehouse=warehouse,
        lines=[SkuQuantity(sku=sku, quantity=quantity) for sku, quantity in lines],
        carrier="CTT",
        tracking_number=f"TN-{order_id}",
    )


def return_received(order_id: str, *lines: tuple[str, int, str]) -> ReturnReceivedV1:
    return ReturnReceivedV1.model_validate(
        {
            "order_id": order_id,
            "lines": [
                ReturnedLine.model_validate({"sku": sku, "quantity": quantity, "condition": condition})
                for sku, quantity, condition in lines
            ],
        }
    )
