"""What the orders service publishes on `orders.events.v1` for each event of its log (key: order_id).

Events that only move the order's own counters (StockReserved, ShipmentDelivered, ...) are not published:
the services that produced those facts have published them already.
"""

from __future__ import annotations

from decimal import Decimal

from services.orders.domain.order import Order
from services.orders.domain.return_authorization import ReturnAuthorization
from shared.contracts.envelope import Contract
from shared.contracts.orders import (
    OrderAcceptedV1,
    OrderCancellationPendingV1,
    OrderCancellationRefusedV1,
    OrderCancelledV1,
    OrderCustomer,
    OrderRejectedV1,
    OrderStatusChangedV1,
    PricedLine,
    RefundIssuedV1,
    ReturnApprovedV1,
    ReturnDeclinedV1,
    ReturnReceivedV1,
    ShipmentRequestedV1,
    SkuQuantity,
    StockReservationRequestedV1,
)
from shared.contracts.storefront import Address
from shared.contracts.topics import ORDERS_EVENTS
from shared.messaging.outbound import Outbound

Published = tuple[str, Contract]


def to_outbound(event: object) -> Outbound | None:
    match event:
        case Order.Event():
            published, order_id = _order_message(event), event.order_id
        case ReturnAuthorization.Event():
            published, order_id = _return_message(event), event.order_id
        case _:
            return None
    if published is None:
        return None
    type_, data = published
    return Outbound(topic=ORDERS_EVENTS, key=order_id, type=type_, data=data)


def _order_message(event: Order.Event) -> Published | None:
    match event:
        case Order.Placed(rejection=None):
            return (
                "OrderAccepted",
                OrderAcceptedV1(
                    order_id=event.order_id,
                    customer=OrderCustomer.model_validate(event.customer),
                    shipping_address=Address.model_validate(event.shipping_address),
                    lines=[PricedLine.model_validate(line) for line in event.lines],
                    currency=event.currency,
                    total=sum((line["unit_price"] * line["quantity"] for line in event.lines), Decimal("0")),
                    shipping_method=event.shipping_method,
                    promised_delivery_by=event.promised_delivery_by,
                ),
            )
        case Order.Placed(rejection=str(rejection)):
            return "OrderRejected", OrderRejectedV1(order_id=event.order_id, reason=rejection)
        case Order.StockReservationRequested():
            return (
                "StockReservationRequested",
                StockReservationRequestedV1(order_id=event.order_id, lines=_sku_quantities(event.quantities)),
            )
        case Order.ShipmentRequested():
            return (
                "ShipmentRequested",
                ShipmentRequestedV1(
                    order_id=event.order_id,
                    shipment_id=event.shipment_id,
                    warehouse=event.warehouse,
                    lines=_sku_quantities(event.quantities),
                    shipping_address=Address.model_validate(event.shipping_address),
                    shipping_method=event.shipping_method,
                    promised_delivery_by=event.promised_delivery_by,
                    customer_id=event.customer_id,
                ),
            )
        case Order.CancellationPending():
            return (
                "OrderCancellationPending",
                OrderCancellationPendingV1(
                    order_id=event.order_id,
                    cancellation_id=event.cancellation_id,
                    reason=event.reason,
                    requested_by=event.requested_by,
                ),
            )
        case Order.Cancelled():
            return (
                "OrderCancelled",
                OrderCancelledV1(
                    order_id=event.order_id,
                    reason=event.reason,
                    requested_by=event.requested_by,
                    refund_amount=event.refund_amount,
                    currency=event.currency,
                    cancellation_id=event.cancellation_id,
                ),
            )
        case Order.CancellationRefused():
            return (
                "OrderCancellationRefused",
                OrderCancellationRefusedV1(
                    order_id=event.order_id,
                    reason=event.reason,
                    refusal=event.refusal,
                    requested_by=event.requested_by,
                    cancellation_id=event.cancellation_id,
                ),
            )
        case Order.StatusChanged():
            return (
                "OrderStatusChanged",
                OrderStatusChangedV1.model_validate(
                    {"order_id": event.order_id, "status": event.status, "previous": event.previous}
                ),
            )
    return None


def _return_message(event: ReturnAuthorization.Event) -> Published | None:
    match event:
        # The authorization is born decided (the order checks the quantities in the same commit).
        case ReturnAuthorization.Requested(refusal=None):
            return (
                "ReturnApproved",
                ReturnApprovedV1(
                    order_id=event.order_id,
                    return_id=event.return_id,
                    lines=_sku_quantities(event.lines),
                    reason=event.reason,
                    requested_by=event.requested_by,
                ),
            )
        case ReturnAuthorization.Requested(refusal=str(refusal)):
            return (
                "ReturnDeclined",
                ReturnDeclinedV1(
                    order_id=event.order_id,
                    return_id=event.return_id,
                    lines=_sku_quantities(event.lines),
                    reason=event.reason,
                    refusal=refusal,
                    requested_by=event.requested_by,
                ),
            )
        case ReturnAuthorization.Received():
            return (
                "ReturnReceived",
                ReturnReceivedV1(
                    order_id=event.order_id,
                    return_id=event.return_id,
                    resellable=_sku_quantities(event.resellable),
                    damaged=_sku_quantities(event.damaged),
                ),
            )
        case ReturnAuthorization.Refunded():
            return (
                "RefundIssued",
                RefundIssuedV1(
                    order_id=event.order_id,
                    return_id=event.return_id,
                    amount=event.amount,
                    currency=event.currency,
                    payment_reference=event.payment_reference,
                    capped=event.capped,
                ),
            )
    return None


def _sku_quantities(quantities: dict[str, int]) -> list[SkuQuantity]:
    return [SkuQuantity(sku=sku, quantity=quantity) for sku, quantity in quantities.items()]
