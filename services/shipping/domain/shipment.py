"""A shipment: requested by orders, picked, packed and dispatched by the warehouse, then followed through the
carrier's tracking updates until it is delivered or returned to sender.

Events carry what the published contracts need (order id, warehouse, lines), so the outbound adapter maps
an event on its own, without loading the shipment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.shipping.domain import SHIPPING_NAMESPACE

REQUESTED = "requested"
PICKED = "picked"
PACKED = "packed"
DISPATCHED = "dispatched"
CANCELLED = "cancelled"
CANCELLATION_REFUSED = "cancellation_refused"
DELIVERED = "delivered"
RETURNED_TO_SENDER = "returned_to_sender"
# The warehouse's steps in order; every carrier status comes after the last one.
WAREHOUSE_STEPS = (REQUESTED, PICKED, PACKED, DISPATCHED)
# The carrier's last word: nothing moves a shipment out of these.
FINAL_STATUSES = frozenset({DELIVERED, RETURNED_TO_SENDER})
REFUSAL_ALREADY_DISPATCHED = "already dispatched"


@dataclass(frozen=True)
class ShipmentLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Step:
    """A step of the shipment's own lifecycle, when it happened, and why (cancellation reason, refusal)."""

    status: str
    at: datetime
    note: str | None = None


@dataclass(frozen=True)
class TrackingEntry:
    """One carrier update as received; `applied` is False when it did not change the shipment's status."""

    status: str
    carrier: str
    location: str | None
    detail: str | None
    reported_at: datetime
    applied: bool


class ShipmentWasCancelled(Exception):
    """A warehouse scan for a shipment that was cancelled: the warehouse must not ship it."""


class ShipmentNotDispatched(Exception):
    """A carrier update for a shipment no carrier has been given."""


class Shipment(Aggregate):
    class Created(Aggregate.Created):
        shipment_id: str
        order_id: str
        warehouse: str
        lines: list[ShipmentLine]
        shipping_address: dict[str, Any]
        shipping_method: str
        promised_delivery_by: date
        requested_at: datetime
        # Whose address it is (the store seals it under that customer's key). A default: older events lack it.
        customer_id: str | None = None

    class Picked(Aggregate.Event):
        shipment_id: str
        order_id: str
        warehouse: str
        at: datetime

    class Packed(Aggregate.Event):
        shipment_id: str
        order_id: str
        warehouse: str
        at: datetime

    class Dispatched(Aggregate.Event):
        shipment_id: str
        order_id: str
        warehouse: str
        lines: list[ShipmentLine]
        carrier: str
        tracking_number: str
        at: datetime

    class TrackingRecorded(Aggregate.Event):
        shipment_id: str
        order_id: str
        tracking_number: str
        carrier: str
        status: str
        location: str | None
        detail: str | None
        reported_at: datetime
        applied: bool

    class Delivered(Aggregate.Event):
        shipment_id: str
        order_id: str
        warehouse: str
        lines: list[ShipmentLine]
        delivered_at: datetime
        promised_delivery_by: date
        late: bool

    class ReturnedToSender(Aggregate.Event):
        shipment_id: str
        order_id: str
        warehouse: str
        lines: list[ShipmentLine]
        at: datetime

    class Cancelled(Aggregate.Event):
        shipment_id: str
        order_id: str
        warehouse: str
        reason: str
        at: datetime

    class CancellationRefused(Aggregate.Event):
        shipment_id: str
        order_id: str
        refusal: str
        at: datetime

    @event(Created)
    def __init__(
        self,
        shipment_id: str,
        order_id: str,
        warehouse: str,
        lines: list[ShipmentLine],
        shipping_address: dict[str, Any],
        shipping_method: str,
        promised_delivery_by: date,
        requested_at: datetime,
        customer_id: str | None = None,
    ) -> None:
        self.shipment_id = shipment_id
        self.customer_id = customer_id
        self.order_id = order_id
        self.warehouse = warehouse
        self.lines = tuple(lines)
        self.shipping_address = shipping_address
        self.shipping_method = shipping_method
        self.promised_delivery_by = promised_delivery_by
        self.status = REQUESTED
        self.carrier: str | None = None
        self.tracking_number: str | None = None
        self.delivered_at: datetime | None = None
        self.delivered_late: bool | None = None
        self.steps: list[Step] = [Step(REQUESTED, requested_at)]
        self.tracking: list[TrackingEntry] = []
        # The carrier time of the newest update that set the status: older ones arriving later are history only.
        self.latest_reported_at: datetime | None = None

    @staticmethod
    def create_id(shipment_id: str) -> UUID:
        return uuid5(SHIPPING_NAMESPACE, f"shipment:{shipment_id}")

    @property
    def is_cancelled(self) -> bool:
        return self.status == CANCELLED

    @property
    def is_dispatched(self) -> bool:
        return self.carrier is not None

    @property
    def is_finished(self) -> bool:
        return self.status in FINAL_STATUSES

    def is_late(self, today: date) -> bool:
        """Delivered: whether it arrived after the promised date. Otherwise: not delivered and past the promised
        date (returned to sender counts; a cancelled shipment owes no delivery)."""
        if self.status == DELIVERED:
            return bool(self.delivered_late)
        return not self.is_cancelled and today > self.promised_delivery_by

    # The warehouse: lenient about skipped scans (packed implies picked, dispatched implies both),
    # and a scan of a step already passed has no effect.

    def pick(self, at: datetime) -> None:
        self.check_not_cancelled()
        if not self._has_reached(PICKED):
            self._picked(shipment_id=self.shipment_id, order_id=self.order_id, warehouse=self.warehouse, at=at)

    def pack(self, at: datetime) -> None:
        self.check_not_cancelled()
        if not self._has_reached(PACKED):
            self._packed(shipment_id=self.shipment_id, order_id=self.order_id, warehouse=self.warehouse, at=at)

    def dispatch(self, carrier: str, tracking_number: str, at: datetime) -> None:
        """A second dispatch scan changes nothing, even with another tracking number: the parcel already left."""
        self.check_not_cancelled()
        if not self._has_reached(DISPATCHED):
            self._dispatched(
                shipment_id=self.shipment_id,
                order_id=self.order_id,
                warehouse=self.warehouse,
                lines=list(self.lines),
                carrier=carrier,
                tracking_number=tracking_number,
                at=at,
            )

    def cancel(self, reason: str, at: datetime) -> None:
        """Before dispatch the shipment is cancelled; after, the refusal is recorded (and published)."""
        if self.is_cancelled:
            return
        if self.is_dispatched:
            self.refuse_cancellation(at)
        else:
            self._cancelled(
                shipment_id=self.shipment_id, order_id=self.order_id, warehouse=self.warehouse, reason=reason, at=at
            )

    def refuse_cancellation(self, at: datetime) -> None:
        """The parcel has left: an order's cancellation is refused, and the refusal recorded (and published)."""
        self._cancellation_refused(
            shipment_id=self.shipment_id, order_id=self.order_id, refusal=REFUSAL_ALREADY_DISPATCHED, at=at
        )

    # The carrier: every update is kept; only a current one sets the status.

    def record_tracking(
        self, carrier: str, status: str, location: str | None, detail: str | None, reported_at: datetime
    ) -> None:
        tracking_number = self.tracking_number
        if tracking_number is None:
            raise ShipmentNotDispatched(f"shipment {self.shipment_id!r} has not been dispatched")
        applied = self._would_apply(status, reported_at)
        self._tracking_recorded(
            shipment_id=self.shipment_id,
            order_id=self.order_id,
            tracking_number=tracking_number,
            carrier=carrier,
            status=status,
            location=location,
            detail=detail,
            reported_at=reported_at,
            applied=applied,
        )
        if applied and status == DELIVERED:
            self._delivered(
                shipment_id=self.shipment_id,
                order_id=self.order_id,
                warehouse=self.warehouse,
                lines=list(self.lines),
                delivered_at=reported_at,
                promised_delivery_by=self.promised_delivery_by,
                # The carrier's local date of delivery (occurred_at keeps the carrier's offset).
                late=reported_at.date() > self.promised_delivery_by,
            )
        elif applied and status == RETURNED_TO_SENDER:
            self._returned_to_sender(
                shipment_id=self.shipment_id,
                order_id=self.order_id,
                warehouse=self.warehouse,
                lines=list(self.lines),
                at=reported_at,
            )

    def check_not_cancelled(self) -> None:
        if self.is_cancelled:
            raise ShipmentWasCancelled(f"shipment {self.shipment_id!r} was cancelled")

    def _has_reached(self, step: str) -> bool:
        if self.status not in WAREHOUSE_STEPS:  # a carrier status: past every warehouse step
            return True
        return WAREHOUSE_STEPS.index(self.status) >= WAREHOUSE_STEPS.index(step)

    def _would_apply(self, status: str, reported_at: datetime) -> bool:
        if self.is_finished:
            return False
        if status in FINAL_STATUSES:
            # Carriers send nothing after delivery or return, so a final status that is merely older than the
            # latest update still wins: otherwise arrival order would decide whether the shipment ever ends.
            return True
        return self.latest_reported_at is None or reported_at >= self.latest_reported_at

    @event(Picked)
    def _picked(self, shipment_id: str, order_id: str, warehouse: str, at: datetime) -> None:
        self.status = PICKED
        self.steps.append(Step(PICKED, at))

    @event(Packed)
    def _packed(self, shipment_id: str, order_id: str, warehouse: str, at: datetime) -> None:
        self.status = PACKED
        self.steps.append(Step(PACKED, at))

    @event(Dispatched)
    def _dispatched(
        self,
        shipment_id: str,
        order_id: str,
        warehouse: str,
        lines: list[ShipmentLine],
        carrier: str,
        tracking_number: str,
        at: datetime,
    ) -> None:
        self.status = DISPATCHED
        self.carrier = carrier
        self.tracking_number = tracking_number
        self.steps.append(Step(DISPATCHED, at))

    @event(TrackingRecorded)
    def _tracking_recorded(
        self,
        shipment_id: str,
        order_id: str,
        tracking_number: str,
        carrier: str,
        status: str,
        location: str | None,
        detail: str | None,
        reported_at: datetime,
        applied: bool,
    ) -> None:
        self.tracking.append(TrackingEntry(status, carrier, location, detail, reported_at, applied))
        if applied:
            self.status = status
            if self.latest_reported_at is None or reported_at > self.latest_reported_at:
                self.latest_reported_at = reported_at

    @event(Delivered)
    def _delivered(
        self,
        shipment_id: str,
        order_id: str,
        warehouse: str,
        lines: list[ShipmentLine],
        delivered_at: datetime,
        promised_delivery_by: date,
        late: bool,
    ) -> None:
        self.delivered_at = delivered_at
        self.delivered_late = late
        self.steps.append(Step(DELIVERED, delivered_at))

    @event(ReturnedToSender)
    def _returned_to_sender(
        self, shipment_id: str, order_id: str, warehouse: str, lines: list[ShipmentLine], at: datetime
    ) -> None:
        self.steps.append(Step(RETURNED_TO_SENDER, at))

    @event(Cancelled)
    def _cancelled(self, shipment_id: str, order_id: str, warehouse: str, reason: str, at: datetime) -> None:
        self.status = CANCELLED
        self.steps.append(Step(CANCELLED, at, reason))

    @event(CancellationRefused)
    def _cancellation_refused(self, shipment_id: str, order_id: str, refusal: str, at: datetime) -> None:
        self.steps.append(Step(CANCELLATION_REFUSED, at, refusal))
