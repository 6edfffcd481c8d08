"""The shipping service's use cases: each consumed message is one commit of its effect and its inbox marker."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder

from services.shipping.domain.order_shipments import OrderShipments
from services.shipping.domain.shipment import (
    Shipment,
    ShipmentLine,
    ShipmentNotDispatched,
    ShipmentWasCancelled,
    Step,
    TrackingEntry,
)
from services.shipping.domain.tracking_number_index import TrackingNumberIndex, TrackingNumberInUse
from shared.contracts.carrier import TrackingUpdatedV1
from shared.contracts.envelope import InvalidMessage
from shared.contracts.orders import OrderCancelledV1, ShipmentRequestedV1
from shared.contracts.warehouse import ShipmentDispatchedV1, ShipmentScanV1
from shared.messaging.inbox import Consumed, InboxApplication
from shared.transcodings import DataclassAsDict

A = TypeVar("A", bound=Aggregate)


class ShippingApplication(InboxApplication):
    name = "shipping"  # the event log's collections: shipping_events, ...

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        # Lines travel in events; steps and tracking entries are aggregate state, kept in snapshots.
        for value_type in (ShipmentLine, Step, TrackingEntry):
            transcoder.register(DataclassAsDict(value_type, namespace="shipping"))

    # Use cases. `occurred_at` is the sender's time from the envelope; the carrier's is the tracking time.

    def create_shipment(
        self, consumed: Consumed, request: ShipmentRequestedV1, occurred_at: datetime | None = None
    ) -> None:
        if self.already_consumed(consumed):
            return
        if Shipment.create_id(request.shipment_id) in self.repository:
            self.save_consumed(consumed)  # requested again under another event id: one shipment
            return
        shipment = Shipment(
            shipment_id=request.shipment_id,
            order_id=request.order_id,
            warehouse=request.warehouse,
            lines=[ShipmentLine(line.sku, line.quantity) for line in request.lines],
            shipping_address=request.shipping_address.model_dump(mode="json"),
            shipping_method=request.shipping_method,
            promised_delivery_by=request.promised_delivery_by,
            requested_at=occurred_at or _now(),
        )
        order = self._find(OrderShipments, OrderShipments.create_id(request.order_id))
        if order is None:
            order = OrderShipments(order_id=request.order_id)
        order.add(request.shipment_id)
        self.save_consumed(consumed, shipment, order)

    def cancel_order_shipments(
        self, consumed: Consumed, cancelled: OrderCancelledV1, occurred_at: datetime | None = None
    ) -> None:
        """Cancels every shipment of the order not yet dispatched; a dispatched one records a refusal."""
        if self.already_consumed(consumed):
            return
        order = self._find(OrderShipments, OrderShipments.create_id(cancelled.order_id))
        shipments = [self._shipment(shipment_id) for shipment_id in (order.shipment_ids if order else [])]
        for shipment in shipments:
            shipment.cancel(cancelled.reason, occurred_at or _now())
        self.save_consumed(consumed, *shipments)

    def record_picked(self, consumed: Consumed, scan: ShipmentScanV1, occurred_at: datetime | None = None) -> None:
        if self.already_consumed(consumed):
            return
        shipment = self._shipment(scan.shipment_id)
        with _invalid_message("data.shipment_id"):
            shipment.pick(occurred_at or _now())
        self.save_consumed(consumed, shipment)

    def record_packed(self, consumed: Consumed, scan: ShipmentScanV1, occurred_at: datetime | None = None) -> None:
        if self.already_consumed(consumed):
            return
        shipment = self._shipment(scan.shipment_id)
        with _invalid_message("data.shipment_id"):
            shipment.pack(occurred_at or _now())
        self.save_consumed(consumed, shipment)

    def record_dispatched(
        self, consumed: Consumed, dispatched: ShipmentDispatchedV1, occurred_at: datetime | None = None
    ) -> None:
        if self.already_consumed(consumed):
            return
        shipment = self._shipment(dispatched.shipment_id)
        with _invalid_message("data.shipment_id"):
            shipment.check_not_cancelled()
        if shipment.is_dispatched:
            self.save_consumed(consumed)  # a repeated dispatch scan: the first one stands
            return
        index = self._find(TrackingNumberIndex, TrackingNumberIndex.create_id(dispatched.tracking_number))
        if index is None:
            index = TrackingNumberIndex(tracking_number=dispatched.tracking_number, shipment_id=shipment.shipment_id)
        with _invalid_message("data.tracking_number"):
            index.check_free_for(shipment.shipment_id)
        shipment.dispatch(dispatched.carrier, dispatched.tracking_number, occurred_at or _now())
        self.save_consumed(consumed, shipment, index)

    def record_tracking(self, consumed: Consumed, update: TrackingUpdatedV1, occurred_at: datetime) -> None:
        """`occurred_at` is the carrier's time of the update: it orders updates that arrive out of order."""
        if self.already_consumed(consumed):
            return
        index = self._find(TrackingNumberIndex, TrackingNumberIndex.create_id(update.tracking_number))
        if index is None:
            raise InvalidMessage(f"data.tracking_number: unknown tracking number {update.tracking_number!r}")
        shipment = self._shipment(index.shipment_id)
        with _invalid_message("data.tracking_number"):
            shipment.record_tracking(update.carrier, update.status, update.location, update.detail, occurred_at)
        self.save_consumed(consumed, shipment)

    # Queries: plain dicts; `today` decides lateness of shipments still on their way.

    def get_shipment(self, shipment_id: str, today: date | None = None) -> dict[str, Any] | None:
        shipment = self._find(Shipment, Shipment.create_id(shipment_id))
        return None if shipment is None else _shipment_view(shipment, today or _now().date())

    def shipments_for_order(self, order_id: str, today: date | None = None) -> list[dict[str, Any]]:
        order = self._find(OrderShipments, OrderShipments.create_id(order_id))
        if order is None:
            return []
        today = today or _now().date()
        return [_shipment_view(self._shipment(shipment_id), today) for shipment_id in order.shipment_ids]

    def _shipment(self, shipment_id: str) -> Shipment:
        shipment = self._find(Shipment, Shipment.create_id(shipment_id))
        if shipment is None:
            raise InvalidMessage(f"data.shipment_id: unknown shipment {shipment_id!r}")
        return shipment

    def _find(self, aggregate_type: type[A], aggregate_id: UUID) -> A | None:
        if aggregate_id not in self.repository:
            return None
        aggregate: object = self.repository.get(aggregate_id)
        assert isinstance(aggregate, aggregate_type)
        return aggregate


@contextmanager
def _invalid_message(field: str) -> Iterator[None]:
    """A domain refusal that no retry can change: the message goes to the DLQ, naming the field."""
    try:
        yield
    except (ShipmentWasCancelled, ShipmentNotDispatched, TrackingNumberInUse) as error:
        raise InvalidMessage(f"{field}: {error}") from None


def _now() -> datetime:
    return datetime.now(UTC)


def _shipment_view(shipment: Shipment, today: date) -> dict[str, Any]:
    return {
        "shipment_id": shipment.shipment_id,
        "order_id": shipment.order_id,
        "status": shipment.status,
        "warehouse": shipment.warehouse,
        "lines": [{"sku": line.sku, "quantity": line.quantity} for line in shipment.lines],
        "shipping_method": shipment.shipping_method,
        "shipping_address": dict(shipment.shipping_address),
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "promised_delivery_by": shipment.promised_delivery_by,
        "delivered_at": shipment.delivered_at,
        "late": shipment.is_late(today),
        "steps": [{"status": step.status, "at": step.at, "note": step.note} for step in shipment.steps],
        # By the carrier's time, whatever order the updates arrived in.
        "tracking": [
            {
                "status": entry.status,
                "carrier": entry.carrier,
                "location": entry.location,
                "detail": entry.detail,
                "reported_at": entry.reported_at,
                "applied": entry.applied,
            }
            for entry in sorted(shipment.tracking, key=lambda entry: entry.reported_at)
        ],
    }
