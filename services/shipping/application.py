"""The shipping service's use cases: load, decide, stage; the runtime commits each batch of them (with its dedup)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder

from services.shipping.domain.early_arrivals import EarlyArrivals, TooManyWaiting, WaitingMessage
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
from shared.contracts.orders import OrderCancellationPendingV1, OrderCancelledV1, ShipmentRequestedV1
from shared.contracts.warehouse import ShipmentDispatchedV1, ShipmentScanV1
from shared.messaging.application import ServiceApplication
from shared.personal_data.fields import ADDRESS_FIELDS
from shared.personal_data.mapper import PersonalField
from shared.transcodings import DataclassAsDict

A = TypeVar("A", bound=Aggregate)


class ShippingApplication(ServiceApplication):
    name = "shipping"  # the event log's collections: shipping_events, ...
    # One log, five new streams per order (shipment, the order's shipments, tracking number, two early-arrival
    # queues): a stream filter of 2^22 bits (512 KiB) stays at ~1 % false positives up to ~400,000 streams.
    env: ClassVar[dict[str, str]] = {**ServiceApplication.env, "STREAM_FILTER_BITS": str(1 << 22)}
    personal_data = {  # noqa: RUF012 (a class-level declaration, never mutated)
        Shipment.Created: (PersonalField("shipping_address", subject="customer_id", fields=ADDRESS_FIELDS),),
    }

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        # Lines travel in events; steps and tracking entries are aggregate state, kept in snapshots.
        for value_type in (ShipmentLine, Step, TrackingEntry, WaitingMessage):
            transcoder.register(DataclassAsDict(value_type, namespace="shipping"))

    # Use cases. `occurred_at` is the sender's time from the envelope; the carrier's is the tracking time.

    def create_shipment(self, request: ShipmentRequestedV1, occurred_at: datetime | None = None) -> None:
        if self.find(Shipment.create_id(request.shipment_id)) is not None:
            return  # requested again under another event id: one shipment
        shipment = Shipment(
            shipment_id=request.shipment_id,
            order_id=request.order_id,
            warehouse=request.warehouse,
            lines=[ShipmentLine(line.sku, line.quantity) for line in request.lines],
            shipping_address=request.shipping_address.model_dump(mode="json"),
            shipping_method=request.shipping_method,
            promised_delivery_by=request.promised_delivery_by,
            requested_at=occurred_at or _now(),
            customer_id=request.customer_id,
        )
        order = self._order_shipments(request.order_id)
        order.add(request.shipment_id)
        if order.cancelled_because is not None:
            # Requested before orders heard the cancellation was confirmed (a request in flight, or one orders made
            # while the cancellation was pending): it must never leave, so it is cancelled as it is created.
            shipment.cancel(order.cancelled_because, occurred_at or _now())
        self.stage(shipment, order)
        # Scans that came before the request, in the order they came.
        key = f"shipment:{request.shipment_id}"
        self._release(key, lambda early: self._apply_scan(shipment, early.type, early.fields, early.at))

    def decide_cancellation(self, pending: OrderCancellationPendingV1, occurred_at: datetime | None = None) -> None:
        """Orders' pending cancellation: every shipment of the order is stopped, or — one has left — none is."""
        order = self._order_shipments(pending.order_id)
        shipments = [self._shipment(shipment_id) for shipment_id in order.shipment_ids]
        order.decide_cancellation(pending.cancellation_id, pending.reason, shipments, occurred_at or _now())
        self.stage(*shipments, order)

    def cancel_order_shipments(self, cancelled: OrderCancelledV1, occurred_at: datetime | None = None) -> None:
        """The order is cancelled. Normally shipping confirmed it and nothing is left to stop; an order cancelled by
        orders alone had no open shipment. Still: cancel what is not dispatched (a dispatched one records a
        refusal), and keep the order closed, so that no shipment of it requested later can leave."""
        order = self._order_shipments(cancelled.order_id)
        shipments = [self._shipment(shipment_id) for shipment_id in order.shipment_ids]
        for shipment in shipments:
            shipment.cancel(cancelled.reason, occurred_at or _now())
        order.close(cancelled.reason)
        self.stage(*shipments, order)

    def record_picked(self, scan: ShipmentScanV1, occurred_at: datetime | None = None) -> None:
        self._scan(PICKED_SCAN, scan.shipment_id, {}, occurred_at or _now())

    def record_packed(self, scan: ShipmentScanV1, occurred_at: datetime | None = None) -> None:
        self._scan(PACKED_SCAN, scan.shipment_id, {}, occurred_at or _now())

    def record_dispatched(self, dispatched: ShipmentDispatchedV1, occurred_at: datetime | None = None) -> None:
        fields: dict[str, str | None] = {"carrier": dispatched.carrier, "tracking_number": dispatched.tracking_number}
        self._scan(DISPATCHED_SCAN, dispatched.shipment_id, fields, occurred_at or _now())

    def record_tracking(self, update: TrackingUpdatedV1, occurred_at: datetime) -> None:
        """`occurred_at` is the carrier's time of the update: it orders updates that arrive out of order.
        An update for a tracking number not dispatched yet waits for its dispatch (early_arrivals.py)."""
        index = self._find(TrackingNumberIndex, TrackingNumberIndex.create_id(update.tracking_number))
        fields = {"carrier": update.carrier, "status": update.status, "location": update.location,
                  "detail": update.detail}  # fmt: skip
        if index is None:
            self._park(f"tracking:{update.tracking_number}", "TrackingUpdated", fields, occurred_at, "tracking_number")
            return
        with _invalid_message("data.tracking_number"):
            self._track(self._shipment(index.shipment_id), fields, occurred_at)

    # Steps shared by the use cases.

    def _scan(self, step: str, shipment_id: str, fields: dict[str, str | None], at: datetime) -> None:
        shipment = self._find(Shipment, Shipment.create_id(shipment_id))
        if shipment is None:
            self._park(f"shipment:{shipment_id}", step, fields, at, "shipment_id")  # the request is on its way
            return
        with _invalid_message("data.shipment_id"):
            self._apply_scan(shipment, step, fields, at)

    def _apply_scan(self, shipment: Shipment, step: str, fields: dict[str, str | None], at: datetime) -> None:
        if step == PICKED_SCAN:
            shipment.pick(at)
        elif step == PACKED_SCAN:
            shipment.pack(at)
        else:
            self._dispatch(shipment, str(fields["carrier"]), str(fields["tracking_number"]), at)
        self.stage(shipment)

    def _dispatch(self, shipment: Shipment, carrier: str, tracking_number: str, at: datetime) -> None:
        shipment.check_not_cancelled()
        if shipment.is_dispatched:
            return  # a repeated dispatch scan: the first one stands
        index = self._find(TrackingNumberIndex, TrackingNumberIndex.create_id(tracking_number))
        if index is None:
            index = TrackingNumberIndex(tracking_number=tracking_number, shipment_id=shipment.shipment_id)
        try:
            index.check_free_for(shipment.shipment_id)
        except TrackingNumberInUse as error:
            raise InvalidMessage(f"data.tracking_number: {error}") from None
        shipment.dispatch(carrier, tracking_number, at)
        self.stage(shipment, index)
        self._release(f"tracking:{tracking_number}", lambda early: self._track(shipment, early.fields, early.at))

    def _track(self, shipment: Shipment, fields: dict[str, str | None], at: datetime) -> None:
        shipment.record_tracking(
            str(fields["carrier"]), str(fields["status"]), fields.get("location"), fields.get("detail"), at
        )
        self.stage(shipment)

    def _park(self, key: str, type_: str, fields: dict[str, str | None], at: datetime, field: str) -> None:
        waiting = self._find(EarlyArrivals, EarlyArrivals.create_id(key)) or EarlyArrivals(key)
        try:
            waiting.check_room()
        except TooManyWaiting as error:
            raise InvalidMessage(f"data.{field}: {error}") from None
        waiting.park(WaitingMessage(type_, at, dict(fields), message_id=self.message_id or "", parked_at=_now()))
        self.stage(waiting)

    def _release(self, key: str, apply: Callable[[WaitingMessage], None]) -> None:
        """Apply what waited for `key`, in arrival order; one its shipment refuses is given up (to the DLQ)."""
        waiting = self._find(EarlyArrivals, EarlyArrivals.create_id(key))
        if waiting is None:
            return
        for early in waiting.release():
            try:
                apply(early)
            except (InvalidMessage, *DOMAIN_REFUSALS) as refusal:
                waiting.give_up(early, str(refusal))
        self.stage(waiting)

    def expire_waiting(self, keys: Sequence[str], now: datetime, patience: timedelta) -> None:
        """Give up the messages that have waited for one of `keys` longer than `patience` (to the DLQ)."""
        for key in keys:
            waiting = self._find(EarlyArrivals, EarlyArrivals.create_id(key))
            if waiting is not None:
                waiting.expire(now, patience)
                self.stage(waiting)

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

    def _order_shipments(self, order_id: str) -> OrderShipments:
        return self._find(OrderShipments, OrderShipments.create_id(order_id)) or OrderShipments(order_id=order_id)

    def _shipment(self, shipment_id: str) -> Shipment:
        shipment = self._find(Shipment, Shipment.create_id(shipment_id))
        if shipment is None:
            raise InvalidMessage(f"data.shipment_id: unknown shipment {shipment_id!r}")
        return shipment

    def _find(self, aggregate_type: type[A], aggregate_id: UUID) -> A | None:
        aggregate: object | None = self.find(aggregate_id)
        if aggregate is None:
            return None
        assert isinstance(aggregate, aggregate_type)
        return aggregate


# Refusals of the domain; a parked message that meets one when released is given up, to the DLQ.
DOMAIN_REFUSALS = (ShipmentWasCancelled, ShipmentNotDispatched, TrackingNumberInUse)
PICKED_SCAN, PACKED_SCAN, DISPATCHED_SCAN = "ShipmentPicked", "ShipmentPacked", "ShipmentDispatched"


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
