"""Where an order's lines are allocated: a pure policy over the units available per sku and warehouse.

1. One warehouse that can allocate every line (one parcel for the customer);
2. else, per line, the warehouse with the most available that can take the whole line;
3. else the line is split over warehouses, the most available first, if together they hold enough;
4. else the whole line is backordered. A line is never partly allocated and partly backordered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# sku -> warehouse -> units available (on hand, not allocated)
Availability = Mapping[str, Mapping[str, int]]


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Allocation:
    sku: str
    warehouse: str
    quantity: int


@dataclass(frozen=True)
class ReservationPlan:
    allocations: tuple[Allocation, ...]
    backordered: tuple[Line, ...]


def merge_lines(lines: Iterable[Line]) -> list[Line]:
    """One line per sku (first appearance order): two lines of a sku are reserved or backordered together."""
    quantities: dict[str, int] = {}
    for line in lines:
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
    return [Line(sku, quantity) for sku, quantity in quantities.items()]


def plan_reservation(lines: Sequence[Line], available: Availability) -> ReservationPlan:
    """Allocate `lines` (one per sku) against `available`; what cannot be allocated whole is backordered."""
    warehouse = _one_warehouse_for_all(lines, available)
    if warehouse is not None:
        return ReservationPlan(tuple(Allocation(line.sku, warehouse, line.quantity) for line in lines), ())
    allocations: list[Allocation] = []
    backordered: list[Line] = []
    for line in lines:
        allocated = allocate_line(line, available.get(line.sku, {}))
        if allocated is None:
            backordered.append(line)
        else:
            allocations.extend(allocated)
    return ReservationPlan(tuple(allocations), tuple(backordered))


def allocate_line(line: Line, available: Mapping[str, int]) -> tuple[Allocation, ...] | None:
    """The whole line from the warehouse with the most available, else split (most available first);
    None when all warehouses together do not hold enough."""
    ranked = _most_available_first(available)
    if not ranked or sum(units for _, units in ranked) < line.quantity:
        return None
    best, units = ranked[0]
    if units >= line.quantity:
        return (Allocation(line.sku, best, line.quantity),)
    allocations: list[Allocation] = []
    missing = line.quantity
    for warehouse, units in ranked:
        taken = min(units, missing)
        allocations.append(Allocation(line.sku, warehouse, taken))
        missing -= taken
        if missing == 0:
            break
    return tuple(allocations)


def _one_warehouse_for_all(lines: Sequence[Line], available: Availability) -> str | None:
    if not lines:
        return None
    candidates: set[str] | None = None
    for line in lines:
        able = {w for w, units in available.get(line.sku, {}).items() if units >= line.quantity}
        candidates = able if candidates is None else candidates & able
    if not candidates:
        return None

    # Of several, the one left with the most stock of these skus; ties by code, so the choice is reproducible.
    def stock_of_order_skus(warehouse: str) -> int:
        return sum(available[line.sku][warehouse] for line in lines)

    return min(candidates, key=lambda w: (-stock_of_order_skus(w), w))


def _most_available_first(available: Mapping[str, int]) -> list[tuple[str, int]]:
    return sorted(((w, units) for w, units in available.items() if units > 0), key=lambda item: (-item[1], item[0]))
