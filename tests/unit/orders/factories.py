"""Contract payloads as the orders service receives them, with defaults a test can override."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from shared.contracts.inventory import (
    Allocation,
    ReturnedStockLine,
    ReturnRestockedV1,
    StockBackorderedV1,
    StockReservedV1,
)
from shared.contracts.orders import SkuQuantity
from shared.contracts.shipping import (
    OrderShipmentsCancellationRefusedV1,
    OrderShipmentsCancelledV1,
    ShipmentCancelledV1,
    ShipmentDeliveredV1,
    ShipmentDispatchedV1,
    ShipmentReturnedToSenderV1,
)
from shared.contracts.storefront import (
    Address,
    Customer,
    OrderCancellationRequestedV1,
    OrderLine,
    OrderPlacedV1,
    Payment,
    ReturnLine,
    ReturnRequestedV1,
)
from tests.unit.deliveries import Delivered, delivered

ORDER_ID = "SO-100045"
PROMISED = date(2026, 12, 2)


def consumed(event_id: str | None = None) -> Delivered:
    """A fresh message unless `event_id` repeats one (a redelivery)."""
    return delivered(event_id)


def order_placed(
    order_id: str = ORDER_ID,
    lines: dict[str, tuple[int, str]] | None = None,
    payment_status: str = "captured",
) -> OrderPlacedV1:
    """`lines`: sku → (quantity, unit price); by default two TSHIRT-RED-M at 19.90."""
    lines = lines or {"TSHIRT-RED-M": (2, "19.90")}
    amount = sum((Decimal(price) * quantity for quantity, price in lines.values()), Decimal("0"))
    return OrderPlacedV1(
        order_id=order_id,
        customer=Customer(id="C-881", email="ana@example.com", name="Ana Silva"),
        shipping_address=Address(
            name="Ana Silva", line1="Rua Augusta 12", city="Lisboa", postal_code="1100-053", country="PT"
        ),
        lines=[
            OrderLine.model_validate({"sku": sku, "quantity": quantity, "unit_price": price})
            for sku, (quantity, price) in lines.items()
        ],
        currency="EUR",
        shipping_method="standard",
        promised_delivery_by=PROMISED,
        payment=Payment.model_validate({"reference": "pi_3Pq", "amount": str(amount), "status": payment_status}),
    )


def cancellation_requested(
    order_id: str = ORDER_ID, reason: str = "customer_changed_mind"
) -> OrderCancellationRequestedV1:
    return OrderCancellationRequestedV1(order_id=order_id, reason=reason)


def return_requested(lines: dict[str, int], order_id: str = ORDER_ID, reason: str = "wrong_size") -> ReturnRequestedV1:
    return ReturnRequestedV1(
        order_id=order_id,
        lines=[ReturnLine(sku=sku, quantity=quantity) for sku, quantity in lines.items()],
        reason=reason,
    )


def stock_reserved(allocations: list[tuple[str, str, int]], order_id: str = ORDER_ID) -> StockReservedV1:
    """`allocations`: (sku, warehouse, quantity)."""
    return StockReservedV1(
        order_id=order_id,
        allocations=[Allocation(sku=sku, warehouse=warehouse, quantity=qty) for sku, warehouse, qty in allocations],
    )


def stock_backordered(lines: dict[str, int], order_id: str = ORDER_ID) -> StockBackorderedV1:
    return StockBackorderedV1(order_id=order_id, lines=_sku_quantities(lines))


def shipment_dispatched(shipment_id: str, lines: dict[str, int], order_id: str = ORDER_ID) -> ShipmentDispatchedV1:
    return ShipmentDispatchedV1(
        shipment_id=shipment_id,
        order_id=order_id,
        warehouse=_warehouse(shipment_id, order_id),
        lines=_sku_quantities(lines),
        carrier="CTT",
        tracking_number=f"TN-{shipment_id}",
    )


def shipment_delivered(
    shipment_id: str, lines: dict[str, int], order_id: str = ORDER_ID, late: bool = False
) -> ShipmentDeliveredV1:
    return ShipmentDeliveredV1(
        shipment_id=shipment_id,
        order_id=order_id,
        warehouse=_warehouse(shipment_id, order_id),
        lines=_sku_quantities(lines),
        delivered_at=datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
        promised_delivery_by=PROMISED,
        late=late,
    )


def shipment_returned_to_sender(
    shipment_id: str, lines: dict[str, int], order_id: str = ORDER_ID
) -> ShipmentReturnedToSenderV1:
    return ShipmentReturnedToSenderV1(
        shipment_id=shipment_id,
        order_id=order_id,
        warehouse=_warehouse(shipment_id, order_id),
        lines=_sku_quantities(lines),
    )


def shipment_cancelled(shipment_id: str, order_id: str = ORDER_ID) -> ShipmentCancelledV1:
    return ShipmentCancelledV1(
        shipment_id=shipment_id, order_id=order_id, warehouse=_warehouse(shipment_id, order_id), reason="cancelled"
    )


def shipments_cancelled(
    cancellation_id: str, shipment_ids: list[str], order_id: str = ORDER_ID
) -> OrderShipmentsCancelledV1:
    return OrderShipmentsCancelledV1(order_id=order_id, cancellation_id=cancellation_id, shipment_ids=shipment_ids)


def shipments_cancellation_refused(
    cancellation_id: str, dispatched: list[str], order_id: str = ORDER_ID
) -> OrderShipmentsCancellationRefusedV1:
    return OrderShipmentsCancellationRefusedV1(
        order_id=order_id, cancellation_id=cancellation_id, refusal="already dispatched", dispatched=dispatched
    )


def return_restocked(lines: list[tuple[str, str, int, int]], order_id: str = ORDER_ID) -> ReturnRestockedV1:
    """`lines`: (sku, warehouse, resellable, damaged)."""
    return ReturnRestockedV1(
        order_id=order_id,
        lines=[
            ReturnedStockLine(sku=sku, warehouse=warehouse, resellable=resellable, damaged=damaged)
            for sku, warehouse, resellable, damaged in lines
        ],
    )


def _sku_quantities(lines: dict[str, int]) -> list[SkuQuantity]:
    return [SkuQuantity(sku=sku, quantity=quantity) for sku, quantity in lines.items()]


def _warehouse(shipment_id: str, order_id: str) -> str:
    """Shipment ids are "{order_id}-{warehouse}-{n}"."""
    return shipment_id.removeprefix(order_id + "-").rsplit("-", 1)[0]
