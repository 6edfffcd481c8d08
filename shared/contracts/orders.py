"""Topic `orders.events.v1`: what the orders service publishes from its event log (key: order_id).

The orders service owns the fulfillment saga: `StockReservationRequested` and `ShipmentRequested` are its
requests to inventory and shipping; `OrderCancelled` asks both to undo what is open. A cancellation of an order
with shipments still open is first `OrderCancellationPending`: shipping, which alone knows whether a parcel has
left, decides it (`OrderShipmentsCancelled` or `OrderShipmentsCancellationRefused` on `shipping.events.v1`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from shared.contracts.envelope import Contract, OrderId, Quantity, Sku, WarehouseCode
from shared.contracts.storefront import Address

OrderStatus = Literal[
    "received",
    "backordered",
    "reserved",
    "partially_shipped",
    "shipped",
    "delivered",
    "cancelled",
    "rejected",
    "return_requested",
    "returned",
    "refunded",
]


class PricedLine(Contract):
    sku: Sku
    quantity: Quantity
    unit_price: Decimal


class SkuQuantity(Contract):
    sku: Sku
    quantity: Quantity


class OrderCustomer(Contract):
    """The storefront's customer as the orders service keeps it: after an erasure its email and name read
    "[erased]" (so `email` is not checked as an address here; the storefront's OrderPlaced checks it)."""

    id: str
    email: str
    name: str | None = None


class OrderAcceptedV1(Contract):
    order_id: OrderId
    customer: OrderCustomer
    shipping_address: Address
    lines: list[PricedLine]
    currency: str
    total: Decimal
    shipping_method: str
    promised_delivery_by: date


class OrderRejectedV1(Contract):
    order_id: OrderId
    reason: str


class StockReservationRequestedV1(Contract):
    order_id: OrderId
    lines: list[SkuQuantity]


class ShipmentRequestedV1(Contract):
    order_id: OrderId
    shipment_id: str
    warehouse: WarehouseCode
    lines: list[SkuQuantity]
    shipping_address: Address
    shipping_method: str
    promised_delivery_by: date
    # Whose address it is: shipping keeps it under that customer's key, and erases it with the customer.
    customer_id: str | None = None


class OrderCancellationPendingV1(Contract):
    """A cancellation orders would accept, put to shipping: only shipping knows whether a parcel already left.

    Shipping answers for `cancellation_id` ("{order_id}-C{n}"): it stops every shipment of the order not yet
    dispatched (and any requested later), or refuses if one is dispatched. The order is not cancelled yet.
    """

    order_id: OrderId
    cancellation_id: str
    reason: str
    requested_by: str


class OrderCancelledV1(Contract):
    order_id: OrderId
    reason: str
    requested_by: str
    # The amount to give back: the captured payment (0 when it was only authorized: the hold is released).
    refund_amount: Decimal = Decimal("0")
    currency: str | None = None
    # The pending cancellation shipping confirmed; None when orders decided alone (no shipment was open), and in
    # events published before cancellations were put to shipping.
    cancellation_id: str | None = None


class OrderCancellationRefusedV1(Contract):
    order_id: OrderId
    reason: str
    refusal: str
    requested_by: str
    # The pending cancellation shipping refused; None when orders refused alone (it had seen the dispatch).
    cancellation_id: str | None = None


class ReturnApprovedV1(Contract):
    order_id: OrderId
    return_id: str
    lines: list[SkuQuantity]
    reason: str
    requested_by: str


class ReturnDeclinedV1(Contract):
    order_id: OrderId
    return_id: str
    lines: list[SkuQuantity]
    reason: str
    refusal: str
    requested_by: str


class ReturnReceivedV1(Contract):
    order_id: OrderId
    return_id: str
    resellable: list[SkuQuantity]
    damaged: list[SkuQuantity]


class RefundIssuedV1(Contract):
    """The refund decided by the orders service; executing the payment is the payment provider's job."""

    order_id: OrderId
    return_id: str
    amount: Decimal
    currency: str
    payment_reference: str
    # Refunds of an order never exceed its captured payment: when the returned units are worth more than is
    # left of it, `amount` is what is left and this says why (for finance to decide on the rest).
    capped: str | None = None


class OrderStatusChangedV1(Contract):
    order_id: OrderId
    status: OrderStatus
    previous: OrderStatus | None


ORDERS_TYPES: dict[str, type[Contract]] = {
    "OrderAccepted": OrderAcceptedV1,
    "OrderRejected": OrderRejectedV1,
    "StockReservationRequested": StockReservationRequestedV1,
    "ShipmentRequested": ShipmentRequestedV1,
    "OrderCancellationPending": OrderCancellationPendingV1,
    "OrderCancelled": OrderCancelledV1,
    "OrderCancellationRefused": OrderCancellationRefusedV1,
    "ReturnApproved": ReturnApprovedV1,
    "ReturnDeclined": ReturnDeclinedV1,
    "ReturnReceived": ReturnReceivedV1,
    "RefundIssued": RefundIssuedV1,
    "OrderStatusChanged": OrderStatusChangedV1,
}
