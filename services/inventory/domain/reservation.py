"""What inventory holds for one order: its allocations per warehouse, its backordered lines, what shipped from
where (returns go back there), what came back, and whether it was released."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.inventory.domain import INVENTORY_NAMESPACE
from services.inventory.domain.allocation import Allocation, Line
from services.inventory.domain.returns import (
    ReturnedLine,
    ReturnedUnits,
    ReturnRecord,
    may_be_ahead_of_dispatch,
    plan_return,
)

# Returns that may wait for their dispatch, per order; more is no late dispatch but a flood.
MAX_WAITING_RETURNS = 10


class AllocationRecord(TypedDict):
    sku: str
    warehouse: str
    quantity: int


class LineRecord(TypedDict):
    sku: str
    quantity: int


class ReservationError(Exception):
    pass


class AlreadyRequested(ReservationError):
    pass


class AlreadyReleased(ReservationError):
    pass


class Reservation(Aggregate):
    """Events carry the order id and every allocation they concern, so each maps to one published message.
    Opened before anything else, because a return or a cancellation may reach inventory for an order whose
    reservation request it never saw."""

    class Opened(Aggregate.Created):
        order_id: str

    class Requested(Aggregate.Event):
        order_id: str
        lines: list[LineRecord]

    class Allocated(Aggregate.Event):
        order_id: str
        allocations: list[AllocationRecord]

    class Backordered(Aggregate.Event):
        order_id: str
        lines: list[LineRecord]

    class BackorderFilled(Aggregate.Event):
        order_id: str
        allocations: list[AllocationRecord]

    class Released(Aggregate.Event):
        order_id: str
        allocations: list[AllocationRecord]
        backorders_dropped: list[LineRecord]

    class Shipped(Aggregate.Event):
        """A shipment with `lines` left `warehouse`; `consumed` is the part that had been allocated there."""

        order_id: str
        shipment_id: str
        warehouse: str
        lines: list[LineRecord]
        consumed: list[LineRecord]

    class ReturnRestocked(Aggregate.Event):
        order_id: str
        lines: list[ReturnRecord]
        # Whether this is the oldest return that waited for its dispatch. A default, so that events stored
        # before returns could wait still load.
        waited: bool = False

    class ReturnWaiting(Aggregate.Event):
        """Goods came back for units still allocated to the order: their dispatch has not reached us yet."""

        order_id: str
        lines: list[ReturnedLine]

    class WaitingReturnRefused(Aggregate.Event):
        """The oldest waiting return can never be taken back (the order was released instead of shipped)."""

        order_id: str
        lines: list[ReturnedLine]
        reason: str

    @staticmethod
    def create_id(order_id: str) -> UUID:
        return uuid5(INVENTORY_NAMESPACE, f"reservation:{order_id}")

    @event(Opened)
    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        self.lines: list[LineRecord] = []
        self.allocations: list[AllocationRecord] = []  # allocated and not shipped yet
        self.backorders: list[LineRecord] = []
        self.shipped: list[AllocationRecord] = []  # in shipping order, so the first warehouse comes first
        self.shipments: list[str] = []
        self.returned: list[AllocationRecord] = []  # units received back (any condition), per warehouse
        self.waiting_returns: list[list[ReturnedLine]] = []  # oldest first
        self.requested = False
        self.released = False

    def allocated_at(self, sku: str, warehouse: str) -> int:
        return sum(a["quantity"] for a in self.allocations if a["sku"] == sku and a["warehouse"] == warehouse)

    def has_shipped(self, shipment_id: str) -> bool:
        return shipment_id in self.shipments

    def plan_return(self, lines: Iterable[ReturnedUnits]) -> list[ReturnRecord]:
        """Where each returned unit goes back (returns.plan_return); raises NotReturnable."""
        ordered = {line["sku"] for line in self.lines}
        return plan_return(self.order_id, ordered, lines, self.shipped, self.returned)

    def can_wait_for_dispatch(self, lines: Iterable[ReturnedUnits]) -> bool:
        """Whether a return beyond what shipped may only be ahead of its dispatch (see returns.py)."""
        waiting = [[ReturnedUnits.of(line) for line in group] for group in self.waiting_returns]
        return len(self.waiting_returns) < MAX_WAITING_RETURNS and may_be_ahead_of_dispatch(
            lines, self.shipped, self.returned, self.allocations, waiting
        )

    def oldest_waiting_return(self) -> list[ReturnedUnits] | None:
        if not self.waiting_returns:
            return None
        return [ReturnedUnits.of(line) for line in self.waiting_returns[0]]

    # Commands

    def request(self, lines: Iterable[Line]) -> None:
        if self.requested:
            raise AlreadyRequested(self.order_id)
        self.check_not_released()
        self._record_request(order_id=self.order_id, lines=_line_records(lines))

    def allocate(self, allocations: Iterable[Allocation]) -> None:
        self.check_not_released()
        self._record_allocation(order_id=self.order_id, allocations=_allocation_records(allocations))

    def backorder(self, lines: Iterable[Line]) -> None:
        self.check_not_released()
        self._record_backorder(order_id=self.order_id, lines=_line_records(lines))

    def fill_backorder(self, allocations: Iterable[Allocation]) -> None:
        self.check_not_released()
        self._record_fill(order_id=self.order_id, allocations=_allocation_records(allocations))

    def release(self) -> None:
        """Everything allocated and not shipped goes back; backorders stop waiting. Once only."""
        self.check_not_released()
        self._record_release(
            order_id=self.order_id, allocations=list(self.allocations), backorders_dropped=list(self.backorders)
        )

    def record_shipment(
        self, shipment_id: str, warehouse: str, lines: Iterable[Line], consumed: Iterable[Line]
    ) -> None:
        self._record_shipment(
            order_id=self.order_id,
            shipment_id=shipment_id,
            warehouse=warehouse,
            lines=_line_records(lines),
            consumed=_line_records(line for line in consumed if line.quantity > 0),
        )

    def record_return(self, lines: list[ReturnRecord], *, waited: bool = False) -> None:
        self._record_return(order_id=self.order_id, lines=lines, waited=waited)

    def wait_for_dispatch(self, lines: Iterable[ReturnedUnits]) -> None:
        self._record_waiting_return(order_id=self.order_id, lines=[line.record() for line in lines])

    def refuse_waiting_returns(self, reason: str) -> None:
        while self.waiting_returns:
            self._refuse_waiting_return(order_id=self.order_id, lines=self.waiting_returns[0], reason=reason)

    def check_not_released(self) -> None:
        if self.released:
            raise AlreadyReleased(self.order_id)

    # Events

    @event(Requested)
    def _record_request(self, order_id: str, lines: list[LineRecord]) -> None:
        self.lines = list(lines)
        self.requested = True

    @event(Allocated)
    def _record_allocation(self, order_id: str, allocations: list[AllocationRecord]) -> None:
        self.allocations = _merged(self.allocations, allocations)

    @event(Backordered)
    def _record_backorder(self, order_id: str, lines: list[LineRecord]) -> None:
        self.backorders = [*self.backorders, *lines]

    @event(BackorderFilled)
    def _record_fill(self, order_id: str, allocations: list[AllocationRecord]) -> None:
        filled = {a["sku"] for a in allocations}
        self.backorders = [b for b in self.backorders if b["sku"] not in filled]
        self.allocations = _merged(self.allocations, allocations)

    @event(Released)
    def _record_release(
        self, order_id: str, allocations: list[AllocationRecord], backorders_dropped: list[LineRecord]
    ) -> None:
        self.allocations = []
        self.backorders = []
        self.released = True

    @event(Shipped)
    def _record_shipment(
        self, order_id: str, shipment_id: str, warehouse: str, lines: list[LineRecord], consumed: list[LineRecord]
    ) -> None:
        taken = [AllocationRecord(sku=c["sku"], warehouse=warehouse, quantity=-c["quantity"]) for c in consumed]
        self.allocations = _merged(self.allocations, taken)
        shipped = [AllocationRecord(sku=line["sku"], warehouse=warehouse, quantity=line["quantity"]) for line in lines]
        self.shipped = _merged(self.shipped, shipped)
        self.shipments = [*self.shipments, shipment_id]

    @event(ReturnRestocked)
    def _record_return(self, order_id: str, lines: list[ReturnRecord], waited: bool) -> None:
        back = [
            AllocationRecord(
                sku=line["sku"], warehouse=line["warehouse"], quantity=line["resellable"] + line["damaged"]
            )
            for line in lines
        ]
        self.returned = _merged(self.returned, back)
        if waited:
            self.waiting_returns = self.waiting_returns[1:]

    @event(ReturnWaiting)
    def _record_waiting_return(self, order_id: str, lines: list[ReturnedLine]) -> None:
        self.waiting_returns = [*self.waiting_returns, list(lines)]

    @event(WaitingReturnRefused)
    def _refuse_waiting_return(self, order_id: str, lines: list[ReturnedLine], reason: str) -> None:
        self.waiting_returns = self.waiting_returns[1:]


def _line_records(lines: Iterable[Line]) -> list[LineRecord]:
    return [LineRecord(sku=line.sku, quantity=line.quantity) for line in lines]


def _allocation_records(allocations: Iterable[Allocation]) -> list[AllocationRecord]:
    return [AllocationRecord(sku=a.sku, warehouse=a.warehouse, quantity=a.quantity) for a in allocations]


def _merged(current: list[AllocationRecord], changes: Iterable[AllocationRecord]) -> list[AllocationRecord]:
    """Adds quantities per (sku, warehouse), first-seen order kept, zeros dropped; never mutates its inputs."""
    totals: dict[tuple[str, str], int] = {(a["sku"], a["warehouse"]): a["quantity"] for a in current}
    for change in changes:
        key = (change["sku"], change["warehouse"])
        totals[key] = totals.get(key, 0) + change["quantity"]
    return [AllocationRecord(sku=s, warehouse=w, quantity=q) for (s, w), q in totals.items() if q != 0]
