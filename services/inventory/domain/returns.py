"""Goods coming back for an order: which units inventory takes back into stock, and where they go.

Only units that shipped for the order and have not come back already: a return may never raise stock by units
that never left (fifty "returned" of one shipped) or already came back. Each unit goes back to the warehouse
that shipped it, the first one first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

Condition = Literal["resellable", "damaged"]


class UnitsAt(TypedDict):
    sku: str
    warehouse: str
    quantity: int


class ReturnRecord(TypedDict):
    sku: str
    warehouse: str
    resellable: int
    damaged: int


class ReturnedLine(TypedDict):
    """A returned line as stored in events (plain values, so it transcodes to JSON)."""

    sku: str
    quantity: int
    condition: Condition


@dataclass(frozen=True)
class ReturnedUnits:
    """One line of what the warehouse received back: `quantity` units of `sku` in one condition."""

    sku: str
    quantity: int
    condition: Condition

    def record(self) -> ReturnedLine:
        return ReturnedLine(sku=self.sku, quantity=self.quantity, condition=self.condition)

    @classmethod
    def of(cls, line: ReturnedLine) -> ReturnedUnits:
        return cls(line["sku"], line["quantity"], line["condition"])


class NotReturnable(Exception):
    """`line` is the index of the returned line that goes beyond what can come back, `field` its part at fault."""

    def __init__(self, line: int, field: str, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.field = field
        self.reason = reason


def returnable(sku: str, shipped: Sequence[UnitsAt], returned: Sequence[UnitsAt]) -> dict[str, int]:
    """Per warehouse that shipped `sku` (first shipped first): units shipped and not yet returned."""
    back = {r["warehouse"]: r["quantity"] for r in returned if r["sku"] == sku}
    left = {s["warehouse"]: s["quantity"] - back.get(s["warehouse"], 0) for s in shipped if s["sku"] == sku}
    return {warehouse: quantity for warehouse, quantity in left.items() if quantity > 0}


def plan_return(
    order_id: str,
    ordered: Collection[str],
    lines: Iterable[ReturnedUnits],
    shipped: Sequence[UnitsAt],
    returned: Sequence[UnitsAt],
) -> list[ReturnRecord]:
    """Where each returned unit goes back; the whole return is refused when any unit cannot come back.
    `ordered`: the skus of the order."""
    left: dict[str, dict[str, int]] = {}
    planned: dict[tuple[str, str], ReturnRecord] = {}
    for index, line in enumerate(lines):
        if line.sku not in left:
            if line.sku not in ordered and not any(s["sku"] == line.sku for s in shipped):
                raise NotReturnable(index, "sku", f"sku {line.sku!r} is not part of order {order_id!r}")
            left[line.sku] = returnable(line.sku, shipped, returned)
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
            shipped_units = sum(s["quantity"] for s in shipped if s["sku"] == line.sku)
            back = sum(r["quantity"] for r in returned if r["sku"] == line.sku)
            raise NotReturnable(
                index,
                "quantity",
                f"more units of {line.sku!r} than order {order_id!r} can return: "
                f"{shipped_units} shipped, {back} already returned",
            )
    return list(planned.values())


def may_be_ahead_of_dispatch(
    lines: Iterable[ReturnedUnits],
    shipped: Sequence[UnitsAt],
    returned: Sequence[UnitsAt],
    allocated: Sequence[UnitsAt],
    waiting: Iterable[Iterable[ReturnedUnits]] = (),
) -> bool:
    """Whether every unit beyond what shipped (with the returns already waiting) is still allocated to the order.

    Inventory learns of a dispatch from shipping's topic and of a return from the warehouse's, and nothing
    orders the two: after a restart, a return scanned days after its parcel left may be read before that
    parcel's dispatch. Units still allocated to the order may be such a parcel; anything more never shipped.
    """
    wanted = Counter[str]()
    for group in (lines, *waiting):
        for line in group:
            wanted[line.sku] += line.quantity
    for sku, units in wanted.items():
        shipped_not_back = sum(returnable(sku, shipped, returned).values())
        still_allocated = sum(a["quantity"] for a in allocated if a["sku"] == sku)
        if units > shipped_not_back + still_allocated:
            return False
    return True
