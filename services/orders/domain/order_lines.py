"""Value objects of an order: its lines with their counters, its shipments, and the display status they imply."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypedDict

# Shipment states in which the parcel has left the warehouse: from then on the order cannot be cancelled.
DISPATCHED = ("dispatched", "delivered", "returned_to_sender")


class PricedLine(TypedDict):
    sku: str
    quantity: int
    unit_price: Decimal


class Allocation(TypedDict):
    sku: str
    warehouse: str
    quantity: int


@dataclass
class Line:
    """How far each unit of one sku has come; every counter counts units of this line."""

    sku: str
    unit_price: Decimal
    ordered: int
    reserved: int = 0
    backordered: int = 0
    shipped: int = 0
    delivered: int = 0
    returned: int = 0
    refunded: int = 0


@dataclass(frozen=True)
class Refund:
    """What a received return gives back, and why it is less than the units are worth, if it is."""

    amount: Decimal
    capped: str | None = None


@dataclass
class OrderShipment:
    """A shipment the order requested: requested → dispatched → delivered | returned_to_sender, or cancelled."""

    shipment_id: str
    warehouse: str
    quantities: dict[str, int]
    state: str = "requested"
    late: bool | None = None


def display_status(lines: Iterable[Line], *, cancelled: bool, rejected: bool, open_return: bool) -> str:
    """The status customers see (CONTRACT.md), from the line counters; the first rule that matches wins."""
    lines = list(lines)
    if cancelled:
        return "cancelled"
    if rejected:
        return "rejected"
    if not open_return and any(line.refunded > 0 for line in lines):
        return "refunded"
    if not open_return and any(line.returned > 0 for line in lines):
        return "returned"
    if open_return:
        return "return_requested"
    if all(line.delivered >= line.ordered for line in lines):
        return "delivered"
    if all(line.shipped >= line.ordered for line in lines):
        return "shipped"
    if any(line.shipped > 0 for line in lines):
        return "partially_shipped"
    if all(line.reserved >= line.ordered for line in lines):
        return "reserved"
    if any(line.backordered > 0 for line in lines):
        return "backordered"
    return "received"
