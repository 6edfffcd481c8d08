"""Which shipments belong to an order, and whether the order is cancelled: shipping decides a pending cancellation.

Shipping is the single writer of shipments and the one that sees the warehouse's dispatch scans, so it is the
service that can say, at one instant, whether any parcel of the order has left. Orders puts its cancellations to it
(`OrderCancellationPending`); the answer is decided here, over all the order's shipments at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.shipping.domain import SHIPPING_NAMESPACE
from services.shipping.domain.shipment import REFUSAL_ALREADY_DISPATCHED, Shipment


class OrderShipments(Aggregate):
    """Saved in the same commit as each shipment it lists, so it never misses one."""

    class ShipmentsCancelled(Aggregate.Event):
        order_id: str
        cancellation_id: str
        shipment_ids: list[str]
        reason: str

    class CancellationRefused(Aggregate.Event):
        order_id: str
        cancellation_id: str
        refusal: str
        dispatched: list[str]

    class Closed(Aggregate.Event):
        """The order was cancelled (told by orders' OrderCancelled): no shipment of it may leave any more."""

        reason: str

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        self.shipment_ids: list[str] = []
        # Once cancelled, for ever: a shipment requested later (a request in flight) is cancelled on arrival.
        self.cancelled_because: str | None = None
        self.decided: list[str] = []  # cancellation ids answered, so a repeated request is answered once

    @staticmethod
    def create_id(order_id: str) -> UUID:
        return uuid5(SHIPPING_NAMESPACE, f"order:{order_id}")

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_because is not None

    def add(self, shipment_id: str) -> None:
        if shipment_id not in self.shipment_ids:
            self._shipment_added(shipment_id=shipment_id)

    def decide_cancellation(
        self, cancellation_id: str, reason: str, shipments: Sequence[Shipment], at: datetime
    ) -> None:
        """All or nothing: if one shipment has left, none is touched (the order continues); else every one not
        cancelled yet is cancelled now, and the order stays cancelled here. `shipments` are this order's."""
        if cancellation_id in self.decided:
            return
        dispatched = [shipment for shipment in shipments if shipment.is_dispatched]
        if dispatched:
            for shipment in dispatched:
                shipment.refuse_cancellation(at)
            self._cancellation_refused(
                order_id=self.order_id,
                cancellation_id=cancellation_id,
                refusal=REFUSAL_ALREADY_DISPATCHED,
                dispatched=[shipment.shipment_id for shipment in dispatched],
            )
            return
        stopped = [shipment for shipment in shipments if not shipment.is_cancelled]
        for shipment in stopped:
            shipment.cancel(reason, at)
        self._shipments_cancelled(
            order_id=self.order_id,
            cancellation_id=cancellation_id,
            shipment_ids=[shipment.shipment_id for shipment in stopped],
            reason=reason,
        )

    def close(self, reason: str) -> None:
        if not self.is_cancelled:
            self._closed(reason=reason)

    @event("ShipmentAdded")
    def _shipment_added(self, shipment_id: str) -> None:
        self.shipment_ids.append(shipment_id)

    @event(ShipmentsCancelled)
    def _shipments_cancelled(self, order_id: str, cancellation_id: str, shipment_ids: list[str], reason: str) -> None:
        self.decided.append(cancellation_id)
        self.cancelled_because = reason

    @event(CancellationRefused)
    def _cancellation_refused(self, order_id: str, cancellation_id: str, refusal: str, dispatched: list[str]) -> None:
        self.decided.append(cancellation_id)

    @event(Closed)
    def _closed(self, reason: str) -> None:
        self.cancelled_because = reason
