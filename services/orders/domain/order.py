"""The Order aggregate: one customer order from receipt to refund, and the fulfillment saga's memory.

Every event names its order (`order_id`) because the outbox relay publishes events keyed by order_id and sees
only the event. Business refusals (cancelling a dispatched order, returning what was not delivered) are
events, not exceptions; exceptions are for messages that can never apply (an unknown shipment).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, CanMutateAggregate, event

from services.orders.domain.order_lines import (
    DISPATCHED,
    Allocation,
    Line,
    OrderShipment,
    PricedLine,
    Refund,
    display_status,
)

ORDER_NAMESPACE = uuid5(NAMESPACE_URL, "urn:fulfillment:orders:order")
ACCEPTED_PAYMENT_STATUSES = ("captured", "authorized")
ALREADY_DISPATCHED = "already dispatched; request a return instead"


class UnknownShipment(LookupError):
    """A shipment event names a shipment this order never requested."""


class UnknownSku(LookupError):
    """An inventory event names a sku this order does not have."""


class Order(Aggregate):
    class Event(Aggregate.Event):
        order_id: str

    class Placed(Event, Aggregate.Created):
        customer: dict[str, str | None]
        shipping_address: dict[str, str | None]
        lines: list[PricedLine]
        currency: str
        shipping_method: str
        promised_delivery_by: date
        payment_reference: str
        payment_amount: Decimal
        payment_status: str
        # The acceptance decision is part of the fact: a rejected order is still kept, to be looked up.
        rejection: str | None

    class StockReservationRequested(Event):
        quantities: dict[str, int]

    class StockReserved(Event):
        allocations: list[Allocation]
        # The id of inventory's message (see record_stock_reserved). A default: older events lack it.
        answer_id: str | None = None

    class StockBackordered(Event):
        quantities: dict[str, int]
        answer_id: str | None = None

    class ShipmentRequested(Event):
        shipment_id: str
        warehouse: str
        quantities: dict[str, int]
        # What shipping needs to create the shipment; the request is self-contained.
        shipping_address: dict[str, str | None]
        shipping_method: str
        promised_delivery_by: date
        # Whose address it is (the store seals it under that customer's key). A default: older events lack it.
        customer_id: str | None = None

    class ShipmentDispatched(Event):
        shipment_id: str

    class ShipmentDelivered(Event):
        shipment_id: str
        late: bool

    class ShipmentReturnedToSender(Event):
        shipment_id: str

    class ShipmentCancelled(Event):
        shipment_id: str

    class CancellationPending(Event):
        """A cancellation orders would accept while a shipment is open: put to shipping, which decides it."""

        cancellation_id: str
        reason: str
        requested_by: str

    class Cancelled(Event):
        reason: str
        requested_by: str
        refund_amount: Decimal
        currency: str
        # The pending cancellation shipping confirmed (None: decided by orders alone, or stored before).
        cancellation_id: str | None = None

    class CancellationRefused(Event):
        reason: str
        refusal: str
        requested_by: str
        cancellation_id: str | None = None

    class ReturnRequested(Event):
        return_id: str
        quantities: dict[str, int]
        refusal: str | None

    class ReturnReceived(Event):
        return_id: str
        returned: dict[str, int]
        refund_amount: Decimal
        # Why the refund is less than the returned units are worth (the captured payment ran out); None when
        # it is not. A default, so that events stored before the cap existed still load.
        refund_capped: str | None = None

    class StatusChanged(Event):
        status: str
        previous: str | None

    @staticmethod
    def create_id(order_id: str) -> UUID:
        return uuid5(ORDER_NAMESPACE, order_id)

    @classmethod
    def place(
        cls,
        order_id: str,
        customer: dict[str, str | None],
        shipping_address: dict[str, str | None],
        lines: list[PricedLine],
        currency: str,
        shipping_method: str,
        promised_delivery_by: date,
        payment_reference: str,
        payment_amount: Decimal,
        payment_status: str,
    ) -> Order:
        rejection = None
        if payment_status not in ACCEPTED_PAYMENT_STATUSES:
            rejection = f"payment is {payment_status!r}; only captured or authorized payments are accepted"
        order = cls(
            order_id=order_id,
            customer=customer,
            shipping_address=shipping_address,
            lines=lines,
            currency=currency,
            shipping_method=shipping_method,
            promised_delivery_by=promised_delivery_by,
            payment_reference=payment_reference,
            payment_amount=payment_amount,
            payment_status=payment_status,
            rejection=rejection,
        )
        if rejection is None:
            order._request_stock_reservation(quantities={line["sku"]: line["quantity"] for line in lines})
        order._note_status()
        return order

    @event(Placed)
    def __init__(
        self,
        order_id: str,
        customer: dict[str, str | None],
        shipping_address: dict[str, str | None],
        lines: list[PricedLine],
        currency: str,
        shipping_method: str,
        promised_delivery_by: date,
        payment_reference: str,
        payment_amount: Decimal,
        payment_status: str,
        rejection: str | None,
    ) -> None:
        self.order_id = order_id
        self.customer = customer
        self.shipping_address = shipping_address
        self.lines = {line["sku"]: Line(line["sku"], line["unit_price"], line["quantity"]) for line in lines}
        self.currency = currency
        self.shipping_method = shipping_method
        self.promised_delivery_by = promised_delivery_by
        self.payment_reference = payment_reference
        self.payment_amount = payment_amount
        self.payment_status = payment_status
        self.rejection = rejection
        self.shipments: dict[str, OrderShipment] = {}
        self.cancellation: dict[str, Any] | None = None
        self.cancellation_refusals: list[dict[str, str]] = []
        # The cancellation put to shipping and not answered yet ({cancellation_id, reason, requested_by}).
        self.pending_cancellation: dict[str, str] | None = None
        self.cancellations_requested = 0
        self.return_ids: list[str] = []
        # Quantities under approved, not yet received authorizations: what a new return cannot claim again.
        self.open_returns: dict[str, dict[str, int]] = {}
        self.refunds: dict[str, Decimal] = {}
        self.last_status: str | None = None
        # The ids of inventory's answers taken in (reservations and backorders): each adds to the lines' counters,
        # so a copy of one must change nothing, however long after the first it comes.
        self.inventory_answers: list[str] = []

    def trigger_event(self, event_class: type[CanMutateAggregate[UUID]], **kwargs: Any) -> None:
        super().trigger_event(event_class, order_id=self.order_id, **kwargs)

    @property
    def status(self) -> str:
        return display_status(
            self.lines.values(),
            cancelled=self.cancellation is not None,
            rejected=self.rejection is not None,
            open_return=bool(self.open_returns),
        )

    @property
    def total(self) -> Decimal:
        return sum((line.unit_price * line.ordered for line in self.lines.values()), Decimal("0"))

    @property
    def refunded_total(self) -> Decimal:
        return sum(self.refunds.values(), Decimal("0"))

    @property
    def is_closed(self) -> bool:
        """Cancelled or rejected: late reservations and backorders no longer apply."""
        return self.cancellation is not None or self.rejection is not None

    # Saga steps reported by inventory and shipping.

    def record_stock_reserved(self, allocations: list[Allocation], answer_id: str | None = None) -> None:
        """`answer_id`: the id of inventory's message. A copy of one already taken in has no effect: the runtime's
        deduplication remembers ids for a while, and a producer that crashed may send its tail again later than
        that (a chaos run: 275 orders reserved, and shipped, twice)."""
        if self.is_closed or self._answered(answer_id):
            return  # closed: inventory releases it when it sees OrderCancelled
        self.check_skus({allocation["sku"] for allocation in allocations})
        self._reserve(allocations=allocations, answer_id=answer_id)
        by_warehouse: dict[str, Counter[str]] = {}
        for allocation in allocations:
            by_warehouse.setdefault(allocation["warehouse"], Counter())[allocation["sku"]] += allocation["quantity"]
        for warehouse, quantities in by_warehouse.items():
            self._request_shipment(
                shipment_id=f"{self.order_id}-{warehouse}-{len(self.shipments) + 1}",
                warehouse=warehouse,
                quantities=dict(quantities),
                shipping_address=self.shipping_address,
                shipping_method=self.shipping_method,
                promised_delivery_by=self.promised_delivery_by,
                customer_id=self.customer.get("id"),
            )
        self._note_status()

    def record_backorder(self, quantities: dict[str, int], answer_id: str | None = None) -> None:
        if self.is_closed or self._answered(answer_id):
            return
        self.check_skus(set(quantities))
        self._backorder(quantities=quantities, answer_id=answer_id)
        self._note_status()

    def record_dispatch(self, shipment_id: str) -> None:
        if self.check_shipment(shipment_id).state == "requested":
            self._dispatch(shipment_id=shipment_id)
            self._note_status()

    def record_delivery(self, shipment_id: str, late: bool) -> None:
        if self.check_shipment(shipment_id).state in ("requested", "dispatched"):
            self._deliver(shipment_id=shipment_id, late=late)
            self._note_status()

    def record_return_to_sender(self, shipment_id: str) -> None:
        if self.check_shipment(shipment_id).state in ("requested", "dispatched"):
            self._return_to_sender(shipment_id=shipment_id)
            self._note_status()

    def record_shipment_cancelled(self, shipment_id: str) -> None:
        if self.check_shipment(shipment_id).state == "requested":
            self._cancel_shipment(shipment_id=shipment_id)
            self._note_status()

    def check_skus(self, skus: set[str]) -> None:
        unknown = sorted(skus - self.lines.keys())
        if unknown:
            raise UnknownSku(f"sku {', '.join(unknown)} not in order {self.order_id!r}")

    def check_shipment(self, shipment_id: str) -> OrderShipment:
        try:
            return self.shipments[shipment_id]
        except KeyError:
            raise UnknownShipment(f"unknown shipment {shipment_id!r} of order {self.order_id!r}") from None

    # Requests of the customer (or of an agent on the customer's behalf).

    def cancel(self, reason: str, requested_by: str) -> None:
        """Shipping, not orders, knows whether a parcel has left: orders' view of its shipments may be behind.

        Orders decides alone only from facts that cannot change: a dispatch it has seen (refused), or no shipment
        open (none requested — orders is the one that requests them — or every one already cancelled). Otherwise
        the cancellation is pending and put to shipping; `confirm_cancellation` / `refuse_cancellation` complete it.
        """
        if self.is_closed:
            return  # nothing left to cancel
        if self.pending_cancellation is not None:
            return  # one is already put to shipping: its answer decides this request too
        if any(shipment.state in DISPATCHED for shipment in self.shipments.values()):
            self._refuse_cancellation(reason=reason, refusal=ALREADY_DISPATCHED, requested_by=requested_by)
            return
        if any(shipment.state == "requested" for shipment in self.shipments.values()):
            cancellation_id = f"{self.order_id}-C{self.cancellations_requested + 1}"
            self._put_cancellation_to_shipping(
                cancellation_id=cancellation_id, reason=reason, requested_by=requested_by
            )
            return
        self._cancel_now(reason, requested_by, cancellation_id=None)

    def confirm_cancellation(self, cancellation_id: str) -> None:
        """Shipping stopped every shipment: none left, none will. A stale or repeated answer changes nothing."""
        pending = self._pending(cancellation_id)
        if pending is not None:
            self._cancel_now(pending["reason"], pending["requested_by"], cancellation_id=cancellation_id)

    def refuse_cancellation(self, cancellation_id: str) -> None:
        """Shipping had dispatched a shipment: the order continues, the customer is pointed to a return."""
        pending = self._pending(cancellation_id)
        if pending is not None:
            self._refuse_cancellation(
                reason=pending["reason"],
                refusal=ALREADY_DISPATCHED,
                requested_by=pending["requested_by"],
                cancellation_id=cancellation_id,
            )

    def _pending(self, cancellation_id: str) -> dict[str, str] | None:
        pending = self.pending_cancellation
        if self.is_closed or pending is None or pending["cancellation_id"] != cancellation_id:
            return None
        return pending

    def _cancel_now(self, reason: str, requested_by: str, cancellation_id: str | None) -> None:
        refund = self.refundable if self.payment_status == "captured" else Decimal("0")
        self._cancel(
            reason=reason,
            requested_by=requested_by,
            refund_amount=refund,
            currency=self.currency,
            cancellation_id=cancellation_id,
        )
        self._note_status()

    def request_return(self, quantities: dict[str, int]) -> tuple[str, str | None]:
        """Opens the next return of this order; returns its id and the refusal, if any."""
        return_id = f"{self.order_id}-R{len(self.return_ids) + 1}"
        refusal = self.return_refusal(quantities)
        self._request_return(return_id=return_id, quantities=quantities, refusal=refusal)
        self._note_status()
        return return_id, refusal

    def return_refusal(self, quantities: dict[str, int]) -> str | None:
        for sku, quantity in quantities.items():
            line = self.lines.get(sku)
            if line is None:
                return f"{sku} is not part of the order"
            claimed = line.returned + sum(held.get(sku, 0) for held in self.open_returns.values())
            if quantity > line.delivered - claimed:
                return (
                    f"{sku}: {quantity} requested but {line.delivered} delivered"
                    f" and {claimed} already returned or under return"
                )
        return None

    def return_covering(self, skus: set[str]) -> str | None:
        """The oldest open authorization holding every sku (else any of them) that came back."""
        covering = [return_id for return_id, held in self.open_returns.items() if skus <= held.keys()]
        touching = [return_id for return_id, held in self.open_returns.items() if skus & held.keys()]
        return next(iter(covering + touching), None)

    @property
    def refundable(self) -> Decimal:
        """What is left of the captured payment to give back: refunds together never exceed it."""
        return max(self.payment_amount - self.refunded_total, Decimal("0"))

    def receive_return(self, return_id: str, returned: dict[str, int]) -> Refund:
        """Counts the units that came back under `return_id`; returns the refund they earn.

        Every returned unit is refunded at the order's unit price, resellable or damaged (the customer did
        return it), for at most the units the authorization allowed, and never for more than is left of the
        captured payment. An order placed before payments had to match their lines (one that paid 0.01 for
        9.90 of goods) is refunded what is left of its payment, not what its lines say, with the reason on
        record: giving the rest back is a finance decision, not the system's.
        """
        held = self.open_returns[return_id]
        counted = {sku: min(quantity, held[sku]) for sku, quantity in returned.items() if sku in held}
        due = sum((self.lines[sku].unit_price * quantity for sku, quantity in counted.items()), Decimal("0"))
        refund = Refund(amount=due)
        if due > self.refundable:
            refund = Refund(
                amount=self.refundable,
                capped=(
                    f"{due} {self.currency} due for the returned units, but only {self.refundable} {self.currency} "
                    f"of the {self.payment_amount} {self.currency} captured is left to refund"
                ),
            )
        self._receive_return(
            return_id=return_id, returned=counted, refund_amount=refund.amount, refund_capped=refund.capped
        )
        self._note_status()
        return refund

    # Events: the bodies are the state changes, replayed when the order is loaded.

    @event(StockReservationRequested)
    def _request_stock_reservation(self, quantities: dict[str, int]) -> None:
        pass  # a request to inventory; the order's counters move when inventory answers

    @event(StockReserved)
    def _reserve(self, allocations: list[Allocation], answer_id: str | None = None) -> None:
        self._take_answer(answer_id)
        for allocation in allocations:
            line = self.lines[allocation["sku"]]
            line.reserved += allocation["quantity"]
            line.backordered = max(0, line.backordered - allocation["quantity"])

    @event(StockBackordered)
    def _backorder(self, quantities: dict[str, int], answer_id: str | None = None) -> None:
        self._take_answer(answer_id)
        for sku, quantity in quantities.items():
            self.lines[sku].backordered += quantity

    def _answered(self, answer_id: str | None) -> bool:
        return answer_id is not None and answer_id in self.inventory_answers

    def _take_answer(self, answer_id: str | None) -> None:
        if answer_id is not None:  # (events stored before answers had ids carry none)
            self.inventory_answers.append(answer_id)

    @event(ShipmentRequested)
    def _request_shipment(
        self,
        shipment_id: str,
        warehouse: str,
        quantities: dict[str, int],
        shipping_address: dict[str, str | None],
        shipping_method: str,
        promised_delivery_by: date,
        customer_id: str | None = None,
    ) -> None:
        self.shipments[shipment_id] = OrderShipment(shipment_id, warehouse, quantities)

    @event(ShipmentDispatched)
    def _dispatch(self, shipment_id: str) -> None:
        shipment = self.shipments[shipment_id]
        shipment.state = "dispatched"
        for sku, quantity in shipment.quantities.items():
            self.lines[sku].shipped += quantity

    @event(ShipmentDelivered)
    def _deliver(self, shipment_id: str, late: bool) -> None:
        shipment = self.shipments[shipment_id]
        for sku, quantity in shipment.quantities.items():
            if shipment.state == "requested":  # the dispatch was never reported: delivery implies it
                self.lines[sku].shipped += quantity
            self.lines[sku].delivered += quantity
        shipment.state = "delivered"
        shipment.late = late

    @event(ShipmentReturnedToSender)
    def _return_to_sender(self, shipment_id: str) -> None:
        self.shipments[shipment_id].state = "returned_to_sender"

    @event(ShipmentCancelled)
    def _cancel_shipment(self, shipment_id: str) -> None:
        self.shipments[shipment_id].state = "cancelled"

    @event(CancellationPending)
    def _put_cancellation_to_shipping(self, cancellation_id: str, reason: str, requested_by: str) -> None:
        self.cancellations_requested += 1
        self.pending_cancellation = {"cancellation_id": cancellation_id, "reason": reason, "requested_by": requested_by}

    @event(Cancelled)
    def _cancel(
        self,
        reason: str,
        requested_by: str,
        refund_amount: Decimal,
        currency: str,
        cancellation_id: str | None = None,
    ) -> None:
        self.cancellation = {"reason": reason, "requested_by": requested_by, "refund_amount": refund_amount}
        self.pending_cancellation = None

    @event(CancellationRefused)
    def _refuse_cancellation(
        self, reason: str, refusal: str, requested_by: str, cancellation_id: str | None = None
    ) -> None:
        self.cancellation_refusals.append({"reason": reason, "refusal": refusal, "requested_by": requested_by})
        if cancellation_id is not None:
            self.pending_cancellation = None

    @event(ReturnRequested)
    def _request_return(self, return_id: str, quantities: dict[str, int], refusal: str | None) -> None:
        self.return_ids.append(return_id)
        if refusal is None:
            self.open_returns[return_id] = dict(quantities)

    @event(ReturnReceived)
    def _receive_return(
        self, return_id: str, returned: dict[str, int], refund_amount: Decimal, refund_capped: str | None
    ) -> None:
        del self.open_returns[return_id]
        for sku, quantity in returned.items():
            self.lines[sku].returned += quantity
            self.lines[sku].refunded += quantity
        self.refunds[return_id] = refund_amount

    def _note_status(self) -> None:
        """Records a StatusChanged whenever a step moved the display status (published as OrderStatusChanged)."""
        if self.status != self.last_status:
            self._change_status(status=self.status, previous=self.last_status)

    @event(StatusChanged)
    def _change_status(self, status: str, previous: str | None) -> None:
        self.last_status = status
