"""The orders service's use cases: load, decide, stage; the runtime commits each batch of them (with its dedup)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from services.orders.domain.order import Order, UnknownShipment, UnknownSku
from services.orders.domain.return_authorization import ReturnAuthorization
from shared.contracts.envelope import InvalidMessage
from shared.contracts.inventory import ReturnRestockedV1, StockBackorderedV1, StockReservedV1
from shared.contracts.orders import SkuQuantity
from shared.contracts.shipping import (
    OrderShipmentsCancellationRefusedV1,
    OrderShipmentsCancelledV1,
    ShipmentCancelledV1,
    ShipmentDeliveredV1,
    ShipmentDispatchedV1,
    ShipmentReturnedToSenderV1,
)
from shared.contracts.storefront import OrderCancellationRequestedV1, OrderPlacedV1, ReturnLine, ReturnRequestedV1
from shared.messaging.application import ServiceApplication
from shared.personal_data.fields import ADDRESS_FIELDS, CUSTOMER_FIELDS
from shared.personal_data.mapper import PersonalField

STOREFRONT = "storefront"
CUSTOMER = PersonalField("customer", subject="customer.id", fields=CUSTOMER_FIELDS)


class OrdersApplication(ServiceApplication):
    name = "orders"
    personal_data = {  # noqa: RUF012 (a class-level declaration, never mutated)
        Order.Placed: (CUSTOMER, PersonalField("shipping_address", subject="customer.id", fields=ADDRESS_FIELDS)),
        Order.ShipmentRequested: (PersonalField("shipping_address", subject="customer_id", fields=ADDRESS_FIELDS),),
    }

    # Storefront (and, later, customer service agents through `requested_by`).

    def place_order(self, payload: OrderPlacedV1) -> None:
        if self.find(Order.create_id(payload.order_id)) is not None:
            return  # the same order under another event id: nothing new
        order = Order.place(
            order_id=payload.order_id,
            customer=payload.customer.model_dump(mode="json"),
            shipping_address=payload.shipping_address.model_dump(mode="json"),
            lines=[
                {"sku": line.sku, "quantity": line.quantity, "unit_price": line.unit_price} for line in payload.lines
            ],
            currency=payload.currency,
            shipping_method=payload.shipping_method,
            promised_delivery_by=payload.promised_delivery_by,
            payment_reference=payload.payment.reference,
            payment_amount=payload.payment.amount,
            payment_status=payload.payment.status,
        )
        self.stage(order)

    def request_cancellation(self, payload: OrderCancellationRequestedV1, requested_by: str = STOREFRONT) -> None:
        order = self._order(payload.order_id)
        order.cancel(payload.reason, requested_by)
        self.stage(order)

    def request_return(self, payload: ReturnRequestedV1, requested_by: str = STOREFRONT) -> None:
        order = self._order(payload.order_id)
        quantities = _quantities(payload.lines)
        return_id, refusal = order.request_return(quantities)
        authorization = ReturnAuthorization(
            order_id=order.order_id,
            return_id=return_id,
            lines=quantities,
            reason=payload.reason,
            requested_by=requested_by,
            refusal=refusal,
        )
        # One commit: the order's claim on the quantities and the authorization stand or fall together.
        self.stage(order, authorization)

    # Inventory.

    def record_stock_reserved(self, payload: StockReservedV1) -> None:
        order = self._order(payload.order_id)
        with _known_skus("data.allocations"):
            order.record_stock_reserved(
                [{"sku": a.sku, "warehouse": a.warehouse, "quantity": a.quantity} for a in payload.allocations],
                answer_id=self.message_id,
            )
        self.stage(order)

    def record_backorder(self, payload: StockBackorderedV1) -> None:
        order = self._order(payload.order_id)
        with _known_skus("data.lines"):
            order.record_backorder(_quantities(payload.lines), answer_id=self.message_id)
        self.stage(order)

    def record_return_restocked(self, payload: ReturnRestockedV1) -> None:
        order = self._order(payload.order_id)
        # A sku may come back to more than one warehouse: count units per sku.
        resellable, damaged = Counter[str](), Counter[str]()
        for line in payload.lines:
            resellable[line.sku] += line.resellable
            damaged[line.sku] += line.damaged
        returned = dict(resellable + damaged)  # Counter addition drops zero counts
        return_id = order.return_covering(set(returned))
        if return_id is None:
            # Goods came back without an open authorization: inventory has restocked them; nothing to refund.
            return
        authorization: ReturnAuthorization = self.find(ReturnAuthorization.create_id(return_id))
        refund = order.receive_return(return_id, returned)
        authorization.receive(dict(+resellable), dict(+damaged))
        authorization.refund(refund.amount, order.currency, order.payment_reference, capped=refund.capped)
        self.stage(order, authorization)

    # Shipping.

    def record_shipment_dispatched(self, payload: ShipmentDispatchedV1) -> None:
        order = self._order(payload.order_id)
        with _known_shipment():
            order.record_dispatch(payload.shipment_id)
        self.stage(order)

    def record_shipment_delivered(self, payload: ShipmentDeliveredV1) -> None:
        order = self._order(payload.order_id)
        with _known_shipment():
            order.record_delivery(payload.shipment_id, late=payload.late)
        self.stage(order)

    def record_shipment_returned_to_sender(self, payload: ShipmentReturnedToSenderV1) -> None:
        order = self._order(payload.order_id)
        with _known_shipment():
            order.record_return_to_sender(payload.shipment_id)
        self.stage(order)

    def record_shipment_cancelled(self, payload: ShipmentCancelledV1) -> None:
        order = self._order(payload.order_id)
        with _known_shipment():
            order.record_shipment_cancelled(payload.shipment_id)
        self.stage(order)

    def confirm_cancellation(self, payload: OrderShipmentsCancelledV1) -> None:
        order = self._order(payload.order_id)
        order.confirm_cancellation(payload.cancellation_id)
        self.stage(order)

    def refuse_cancellation(self, payload: OrderShipmentsCancellationRefusedV1) -> None:
        order = self._order(payload.order_id)
        order.refuse_cancellation(payload.cancellation_id)
        self.stage(order)

    # Queries.

    def get_order(self, order_id: str) -> dict[str, Any] | None:
        order = self._find(Order.create_id(order_id))
        if not isinstance(order, Order):
            return None
        returns = self._returns(order)
        return {
            "order_id": order.order_id,
            "status": order.status,
            "customer": order.customer,
            "shipping_address": order.shipping_address,
            "shipping_method": order.shipping_method,
            "promised_delivery_by": order.promised_delivery_by.isoformat(),
            "currency": order.currency,
            "payment": {
                "reference": order.payment_reference,
                "amount": str(order.payment_amount),
                "status": order.payment_status,
            },
            "rejection": order.rejection,
            "lines": [
                {
                    "sku": line.sku,
                    "unit_price": str(line.unit_price),
                    "ordered": line.ordered,
                    "reserved": line.reserved,
                    "backordered": line.backordered,
                    "shipped": line.shipped,
                    "delivered": line.delivered,
                    "returned": line.returned,
                    "refunded": line.refunded,
                }
                for line in order.lines.values()
            ],
            "shipments": [
                {
                    "shipment_id": shipment.shipment_id,
                    "warehouse": shipment.warehouse,
                    "lines": _lines(shipment.quantities),
                    "state": shipment.state,
                    "late": shipment.late,
                }
                for shipment in order.shipments.values()
            ],
            "cancellation": _cancellation(order),
            "cancellation_refusals": list(order.cancellation_refusals),
            # Put to shipping, not answered yet: the order is not cancelled (and may still be refused).
            "cancellation_pending": None if order.pending_cancellation is None else dict(order.pending_cancellation),
            "returns": returns,
            "refunds": [{"return_id": rid, "amount": str(amount)} for rid, amount in order.refunds.items()],
            "totals": {
                "ordered": str(order.total),
                "paid": str(order.payment_amount),
                "refunded": str(order.refunded_total),
            },
            "placed_at": order.created_on.isoformat(),
            "updated_at": order.modified_on.isoformat(),
        }

    def get_returns(self, order_id: str) -> list[dict[str, Any]] | None:
        order = self._find(Order.create_id(order_id))
        return self._returns(order) if isinstance(order, Order) else None

    # Loading.

    def _order(self, order_id: str) -> Order:
        order = self._find(Order.create_id(order_id))
        if not isinstance(order, Order):
            raise InvalidMessage(f"data.order_id: unknown order {order_id!r}")
        return order

    def _find(self, aggregate_id: UUID) -> object | None:
        found: object | None = self.find(aggregate_id)
        return found

    def _returns(self, order: Order) -> list[dict[str, Any]]:
        returns = []
        for return_id in order.return_ids:
            authorization: ReturnAuthorization = self.repository.get(ReturnAuthorization.create_id(return_id))
            returns.append(
                {
                    "return_id": return_id,
                    "status": authorization.state,
                    "lines": _lines(authorization.lines),
                    "reason": authorization.reason,
                    "requested_by": authorization.requested_by,
                    "refusal": authorization.refusal,
                    "resellable": _lines(authorization.resellable),
                    "damaged": _lines(authorization.damaged),
                    "refund_amount": None if authorization.refund_amount is None else str(authorization.refund_amount),
                    "refund_capped": authorization.refund_capped,
                    "requested_at": authorization.created_on.isoformat(),
                }
            )
        return returns


@contextmanager
def _known_shipment() -> Iterator[None]:
    try:
        yield
    except UnknownShipment as error:
        raise InvalidMessage(f"data.shipment_id: {error}") from None


@contextmanager
def _known_skus(field: str) -> Iterator[None]:
    try:
        yield
    except UnknownSku as error:
        raise InvalidMessage(f"{field}: {error}") from None


def _quantities(lines: Iterable[SkuQuantity | ReturnLine]) -> dict[str, int]:
    """Units per sku, in first-mention order; a sku named twice counts once with both quantities."""
    quantities: dict[str, int] = {}
    for line in lines:
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
    return quantities


def _lines(quantities: dict[str, int]) -> list[dict[str, Any]]:
    return [{"sku": sku, "quantity": quantity} for sku, quantity in quantities.items()]


def _cancellation(order: Order) -> dict[str, Any] | None:
    if order.cancellation is None:
        return None
    return {**order.cancellation, "refund_amount": str(order.cancellation["refund_amount"])}
