"""What inventory holds for one order: its allocations per warehouse, its backordered lines, what shipped from
where (returns go back there), and whether it was released."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypedDict
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.inventory.domain import INVENTORY_NAMESPACE
from services.inventory.domain.allocation import Allocation, Line


class AllocationRecord(TypedDict):
    sku: str
    warehouse: str
    quantity: int


class LineRecord(TypedDict):
    sku: str
    quantity: int


class ReturnRecord(TypedDict):
    sku: str
    warehouse: str
    resellable: int
    damaged: int


@dataclass(frozen=True)
class ReturnedUnits:
    """One line of what the warehouse received back: `quantity` units of `sku` in one condition."""

    sku: str
    quantity: int
    condition: Literal["resellable", "damaged"]


class ReservationError(Exception):
    pass


class AlreadyRequested(ReservationError):
    pass


class AlreadyReleased(ReservationError):
    pass


class NotReturnable(ReservationError):
    """Goods can come back only for what shipped for the order and has not come back already.

    `line` is the index of the returned line that went beyond it, `field` the part of that line at fault."""

    def __init__(self, line: int, field: str, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.field = field
        self.reason = reason


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
        self.requested = False
        self.released = False

    def allocated_at(self, sku: str, warehouse: str) -> int:
        return sum(a["quantity"] for a in self.allocations if a["sku"] == sku and a["warehouse"] == warehouse)

    def has_shipped(self, shipment_id: str) -> bool:
        return shipment_id in self.shipments

    def returnable(self, sku: str) -> dict[str, int]:
        """Per warehouse it shipped from (first shipped first): units of `sku` shipped and not yet returned."""
        back = {r["warehouse"]: r["quantity"] for r in self.returned if r["sku"] == sku}
        shipped = {s["warehouse"]: s["quantity"] - back.get(s["warehouse"], 0) for s in self.shipped if s["sku"] == sku}
        return {warehouse: quantity for warehouse, quantity in shipped.items() if quantity > 0}

    def plan_return(self, lines: Iterable[ReturnedUnits]) -> list[ReturnRecord]:
        """Where each returned unit goes back: to a warehouse that shipped it for this order and has not had
        it back, the first one first. More units than shipped and not yet returned refuses the whole return,
        so that stock never grows by units that never left (or already came back)."""
        left: dict[str, dict[str, int]] = {}
        planned: dict[tuple[str, str], ReturnRecord] = {}
        for index, line in enumerate(lines):
            if line.sku not in left:
                left[line.sku] = self.returnable(line.sku)
                if not any(s["sku"] == line.sku for s in self.shipped):
                    raise NotReturnable(index, "sku", f"sku {line.sku!r} was not shipped for order {self.order_id!r}")
            to_place = line.quantity
            for warehouse, room in left[line.sku].items():
                placed = min(room, to_place)
                if placed == 0:
                    continue
                record = planned.setdefault(
                    (line.sku, warehouse), ReturnRecord(sku=line.sku, warehouse=warehouse, resellable=0, damaged=0)
                )
                record[line.condition] += placed
                left[line.sku][warehouse] -= placed
                to_place -= placed
            if to_place > 0:
                raise NotReturnable(index, "quantity", self._beyond_shipped(line.sku))
        return list(planned.values())

    def _beyond_shipped(self, sku: str) -> str:
        shipped = sum(s["quantity"] for s in self.shipped if s["sku"] == sku)
        back = sum(r["quantity"] for r in self.returned if r["sku"] == sku)
        return (
            f"more units of {sku!r} than order {self.order_id!r} can return: {shipped} shipped, {back} already returned"
        )

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

    def record_return(self, lines: list[ReturnRecord]) -> None:
        self._record_return(order_id=self.order_id, lines=lines)

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
    def _record_return(self, order_id: str, lines: list[ReturnRecord]) -> None:
        back = [
            AllocationRecord(
                sku=line["sku"], warehouse=line["warehouse"], quantity=line["resellable"] + line["damaged"]
            )
            for line in lines
        ]
        self.returned = _merged(self.returned, back)


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
