"""The ReturnAuthorization aggregate: one return request of an order, from decision to refund.

requested → approved | declined (with the refusal) → received (resellable / damaged units) → refunded (amount).
The Order decides approval (it knows what was delivered and what is already claimed) in the same commit that
creates the authorization, so the decision is part of the creation fact.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, CanMutateAggregate, event

RETURN_NAMESPACE = uuid5(NAMESPACE_URL, "urn:fulfillment:orders:return-authorization")


class ReturnNotOpen(RuntimeError):
    """Goods can only be received under an approved authorization, and refunded once received."""


class ReturnAuthorization(Aggregate):
    class Event(Aggregate.Event):
        # Published keyed by order_id; the relay sees only the event.
        order_id: str
        return_id: str

    class Requested(Event, Aggregate.Created):
        lines: dict[str, int]
        reason: str
        requested_by: str
        refusal: str | None

    class Received(Event):
        resellable: dict[str, int]
        damaged: dict[str, int]

    class Refunded(Event):
        amount: Decimal
        currency: str
        payment_reference: str
        # Why `amount` is less than the returned units are worth; a default so that older events still load.
        capped: str | None = None

    @staticmethod
    def create_id(return_id: str) -> UUID:
        return uuid5(RETURN_NAMESPACE, return_id)

    @event(Requested)
    def __init__(
        self,
        order_id: str,
        return_id: str,
        lines: dict[str, int],
        reason: str,
        requested_by: str,
        refusal: str | None,
    ) -> None:
        self.order_id = order_id
        self.return_id = return_id
        self.lines = lines
        self.reason = reason
        self.requested_by = requested_by
        self.refusal = refusal
        self.state = "approved" if refusal is None else "declined"
        self.resellable: dict[str, int] = {}
        self.damaged: dict[str, int] = {}
        self.refund_amount: Decimal | None = None
        self.refund_capped: str | None = None

    def trigger_event(self, event_class: type[CanMutateAggregate[UUID]], **kwargs: Any) -> None:
        super().trigger_event(event_class, order_id=self.order_id, return_id=self.return_id, **kwargs)

    def receive(self, resellable: dict[str, int], damaged: dict[str, int]) -> None:
        self.check_state("approved")
        self._receive(resellable=resellable, damaged=damaged)

    def refund(self, amount: Decimal, currency: str, payment_reference: str, capped: str | None = None) -> None:
        self.check_state("received")
        self._refund(amount=amount, currency=currency, payment_reference=payment_reference, capped=capped)

    def check_state(self, expected: str) -> None:
        if self.state != expected:
            raise ReturnNotOpen(f"return {self.return_id} is {self.state}, not {expected}")

    @event(Received)
    def _receive(self, resellable: dict[str, int], damaged: dict[str, int]) -> None:
        self.resellable = resellable
        self.damaged = damaged
        self.state = "received"

    @event(Refunded)
    def _refund(self, amount: Decimal, currency: str, payment_reference: str, capped: str | None) -> None:
        self.refund_amount = amount
        self.refund_capped = capped
        self.state = "refunded"
