"""What the read model knows about one order and one stock item: a fold of the events about it.

`fold_order` and `fold_stock` are pure (a dict in, the same dict changed). Every part of a fact is written by one
event type only and keeps the event's own time (`occurred_at`), so the result does not depend on how the topics
interleaved — live, after a rebalance or in a rebuild from the topics. A fact remembers the ids of the events it
folded: a redelivered event changes nothing. Facts are plain JSON-able dicts (stored as one blob per document).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Fact = dict[str, Any]


@dataclass(frozen=True)
class Observed:
    """One consumed event as the read model sees it (times are fixed-width UTC ISO strings)."""

    event_id: str
    source: str
    type: str
    occurred_at: str
    data: dict[str, Any]

    @property
    def order_id(self) -> str | None:
        order_id = self.data.get("order_id")
        return order_id if isinstance(order_id, str) else None


def cents(amount: str | int | float | Decimal) -> int:
    """Money as whole cents, so that sums over any number of orders are exact."""
    return int((Decimal(str(amount)) * 100).to_integral_value())


def new_order(order_id: str) -> Fact:
    return {
        "order_id": order_id,
        "applied": [],
        "placed": None,
        "reserved": [],
        "backordered": [],
        "shipments": {},
        "cancelled": None,
        "returns": {},
        "cases": {},
    }


def new_stock(sku: str, warehouse: str) -> Fact:
    # `days`: per UTC day, the lowest and the last available level, units shipped and units allocated to orders.
    return {"sku": sku, "warehouse": warehouse, "applied": [], "levels": [], "days": {}}


def _first_time(fact: Fact, event: Observed) -> bool:
    applied: list[str] = fact["applied"]
    position = bisect.bisect_left(applied, event.event_id)
    if position < len(applied) and applied[position] == event.event_id:
        return False
    applied.insert(position, event.event_id)
    return True


def fold_order(fact: Fact, event: Observed) -> bool:
    """Fold `event` into the order's fact; False (and nothing changed) if it was folded before or is not ours."""
    handler = ORDER_HANDLERS.get((event.source, event.type))
    if handler is None or not _first_time(fact, event):
        return False
    handler(fact, event.data, event.occurred_at)
    return True


# Orders.


def _accepted(f: Fact, d: dict[str, Any], at: str) -> None:
    f["placed"] = {
        "at": at,
        "customer": d["customer"]["id"],
        "lines": [{"sku": x["sku"], "quantity": x["quantity"]} for x in d["lines"]],
        "total": cents(d["total"]),
        "currency": d["currency"],
        "method": d["shipping_method"],
        "promised": d["promised_delivery_by"],
    }


def _cancelled(f: Fact, d: dict[str, Any], at: str) -> None:
    f["cancelled"] = {"at": at, "reason": d["reason"], "refund": cents(d.get("refund_amount") or 0)}


def _return(f: Fact, return_id: str) -> dict[str, Any]:
    found: dict[str, Any] = f["returns"].setdefault(
        return_id,
        {"approved_at": None, "lines": [], "reason": None, "received_at": None, "resellable": [], "damaged": []},
    )
    found.setdefault("refunds", [])
    return found


def _return_approved(f: Fact, d: dict[str, Any], at: str) -> None:
    _return(f, d["return_id"]).update(approved_at=at, lines=d["lines"], reason=d["reason"])


def _return_received(f: Fact, d: dict[str, Any], at: str) -> None:
    _return(f, d["return_id"]).update(received_at=at, resellable=d["resellable"], damaged=d["damaged"])


def _refund_issued(f: Fact, d: dict[str, Any], at: str) -> None:
    _return(f, d["return_id"])["refunds"].append({"at": at, "amount": cents(d["amount"])})


# Inventory (reservations are keyed by order id).


def _reserved(f: Fact, d: dict[str, Any], at: str) -> None:
    f["reserved"].append({"at": at, "allocations": d["allocations"]})


def _backordered(f: Fact, d: dict[str, Any], at: str) -> None:
    f["backordered"].append({"at": at, "lines": d["lines"]})


# Shipping.


def _shipment(f: Fact, d: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = f["shipments"].setdefault(
        d["shipment_id"],
        {
            "warehouse": d.get("warehouse"),
            "lines": [],
            "created_at": None,
            "picked_at": None,
            "dispatched_at": None,
            "carrier": None,
            "delivered_at": None,
            "late": None,
            "returned_at": None,
            "cancelled_at": None,
            "exception_at": None,
        },
    )
    if d.get("warehouse"):
        found["warehouse"] = d["warehouse"]
    return found


def _created(f: Fact, d: dict[str, Any], at: str) -> None:
    _shipment(f, d).update(created_at=at, lines=d["lines"])


def _picked(f: Fact, d: dict[str, Any], at: str) -> None:
    shipment = _shipment(f, d)
    # Picked and packed both say work started in the warehouse: keep the earliest.
    shipment["picked_at"] = min(filter(None, [shipment["picked_at"], at]))


def _dispatched(f: Fact, d: dict[str, Any], at: str) -> None:
    _shipment(f, d).update(dispatched_at=at, carrier=d["carrier"], lines=d["lines"])


def _delivered(f: Fact, d: dict[str, Any], at: str) -> None:
    # The carrier's time of delivery, and shipping's verdict on it (the carrier's local date vs the promise); the
    # event's own time too, which is what "as of" goes by.
    _shipment(f, d).update(delivered_at=d["delivered_at"], late=d["late"], lines=d["lines"], delivered_seen_at=at)


def _returned_to_sender(f: Fact, d: dict[str, Any], at: str) -> None:
    _shipment(f, d)["returned_at"] = at


def _shipment_cancelled(f: Fact, d: dict[str, Any], at: str) -> None:
    _shipment(f, d)["cancelled_at"] = at


def _tracking(f: Fact, d: dict[str, Any], at: str) -> None:
    if d["status"] == "exception" and d.get("applied", True):
        shipment = _shipment(f, d)
        shipment["exception_at"] = max(filter(None, [shipment["exception_at"], at]))


# Customer service.


def _case(f: Fact, d: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = f["cases"].setdefault(
        d["case_id"], {"opened_at": None, "category": None, "responses": [], "resolved_at": None}
    )
    return found


def _case_opened(f: Fact, d: dict[str, Any], at: str) -> None:
    _case(f, d).update(opened_at=at, category=d["category"])


def _case_answered(f: Fact, d: dict[str, Any], at: str) -> None:
    # A note or an escalation is an agent's response; the first of them (by time) is the first response.
    bisect.insort(_case(f, d)["responses"], at)


def _case_resolved(f: Fact, d: dict[str, Any], at: str) -> None:
    case = _case(f, d)
    case["resolved_at"] = at
    bisect.insort(case["responses"], at)


OrderHandler = Callable[[Fact, dict[str, Any], str], None]
# Not folded, on purpose: OrderCancellationPending and shipping's answers to it (OrderShipmentsCancelled /
# OrderShipmentsCancellationRefused). A pending cancellation may still be refused; only OrderCancelled counts an
# order as cancelled, so the cancellation KPIs count decided cancellations once.
ORDER_HANDLERS: dict[tuple[str, str], OrderHandler] = {
    ("orders", "OrderAccepted"): _accepted,
    ("orders", "OrderCancelled"): _cancelled,
    ("orders", "ReturnApproved"): _return_approved,
    ("orders", "ReturnReceived"): _return_received,
    ("orders", "RefundIssued"): _refund_issued,
    ("inventory", "StockReserved"): _reserved,
    ("inventory", "StockBackordered"): _backordered,
    ("shipping", "ShipmentCreated"): _created,
    ("shipping", "ShipmentPicked"): _picked,
    ("shipping", "ShipmentPacked"): _picked,
    ("shipping", "ShipmentDispatched"): _dispatched,
    ("shipping", "ShipmentDelivered"): _delivered,
    ("shipping", "ShipmentReturnedToSender"): _returned_to_sender,
    ("shipping", "ShipmentCancelled"): _shipment_cancelled,
    ("shipping", "ShipmentTrackingUpdated"): _tracking,
    ("customer_service", "CaseOpened"): _case_opened,
    ("customer_service", "CaseNoteAdded"): _case_answered,
    ("customer_service", "CaseEscalated"): _case_answered,
    ("customer_service", "CaseResolved"): _case_resolved,
}

# The part of an order's fact each event writes (which contribution sections must be recomputed after it).
PART_OF: dict[tuple[str, str], str] = {
    event: part
    for part, events in {
        "placed": [("orders", "OrderAccepted")],
        "cancelled": [("orders", "OrderCancelled")],
        "returns": [("orders", "ReturnApproved"), ("orders", "ReturnReceived"), ("orders", "RefundIssued")],
        "reserved": [("inventory", "StockReserved")],
        "backordered": [("inventory", "StockBackordered")],
        "cases": [(source, type_) for source, type_ in ORDER_HANDLERS if source == "customer_service"],
        "shipments": [(source, type_) for source, type_ in ORDER_HANDLERS if source == "shipping"],
    }.items()
    for event in events
}
assert PART_OF.keys() == ORDER_HANDLERS.keys()

STOCK_TYPE = ("inventory", "StockLevelChanged")


# As of an instant: the fact as it was when only the events that occurred by then had been folded. Every part of a
# fact carries the time of the event that wrote it, so leaving out the later parts is the fold of the earlier
# events. Two parts carry no time of their own: a shipment's warehouse and lines, which shipping fixes when it
# creates the shipment and repeats unchanged in each later event; they go with the shipment's first event.


def _seen(at: str | None, until: str) -> str | None:
    return at if at is not None and at <= until else None


def _shipment_as_of(s: dict[str, Any], until: str) -> dict[str, Any] | None:
    delivered_seen = _seen(s.get("delivered_seen_at", s["delivered_at"]), until)
    dispatched = _seen(s["dispatched_at"], until)
    times = {
        "created_at": _seen(s["created_at"], until),
        # Picked and packed keep the earliest: if it is later than `until`, so were both.
        "picked_at": _seen(s["picked_at"], until),
        "dispatched_at": dispatched,
        "returned_at": _seen(s["returned_at"], until),
        "cancelled_at": _seen(s["cancelled_at"], until),
        # The latest exception only (no KPI reads it; what needs attention now does).
        "exception_at": _seen(s["exception_at"], until),
    }
    if not any(times.values()) and delivered_seen is None:
        return None
    return {
        **s,
        **times,
        "carrier": s["carrier"] if dispatched else None,
        "delivered_at": s["delivered_at"] if delivered_seen else None,
        "late": s["late"] if delivered_seen else None,
        **({"delivered_seen_at": delivered_seen} if "delivered_seen_at" in s else {}),
    }


def _return_as_of(r: dict[str, Any], until: str) -> dict[str, Any] | None:
    approved, received = _seen(r["approved_at"], until), _seen(r["received_at"], until)
    refunds = [x for x in r.get("refunds", []) if x["at"] <= until]
    if approved is None and received is None and not refunds:
        return None
    return {
        "approved_at": approved,
        "lines": r["lines"] if approved else [],
        "reason": r["reason"] if approved else None,
        "received_at": received,
        "resellable": r["resellable"] if received else [],
        "damaged": r["damaged"] if received else [],
        "refunds": refunds,
    }


def _case_as_of(c: dict[str, Any], until: str) -> dict[str, Any] | None:
    opened, resolved = _seen(c["opened_at"], until), _seen(c["resolved_at"], until)
    responses = [at for at in c["responses"] if at <= until]
    if opened is None and resolved is None and not responses:
        return None
    return {
        "opened_at": opened,
        "category": c["category"] if opened else None,
        "responses": responses,
        "resolved_at": resolved,
    }


def _kept(parts: dict[str, Any], view: Callable[[dict[str, Any], str], dict[str, Any] | None], until: str) -> Any:
    seen = {name: view(part, until) for name, part in parts.items()}
    return {name: part for name, part in seen.items() if part is not None}


def order_as_of(fact: Fact, until: str) -> Fact:
    """The order's fact as known at `until` (a fixed-width UTC ISO time): only what events up to it wrote."""
    placed, cancelled = fact["placed"], fact["cancelled"]
    return {
        **fact,
        "placed": placed if placed is not None and placed["at"] <= until else None,
        "reserved": [r for r in fact["reserved"] if r["at"] <= until],
        "backordered": [b for b in fact["backordered"] if b["at"] <= until],
        "shipments": _kept(fact["shipments"], _shipment_as_of, until),
        "cancelled": cancelled if cancelled is not None and cancelled["at"] <= until else None,
        "returns": _kept(fact["returns"], _return_as_of, until),
        "cases": _kept(fact["cases"], _case_as_of, until),
    }


def order_times(fact: Fact) -> list[str]:
    """Every instant at which an event changed the order's fact, in order: where its figures can change."""
    return [at for at, _ in order_changes(fact)]


def order_changes(fact: Fact) -> list[tuple[str, frozenset[str]]]:
    """`order_times`, each with the parts of the fact (`PART_OF`'s values) that events at that instant wrote."""
    found: dict[str, set[str]] = {}

    def wrote(part: str, *times: str | None) -> None:
        for at in times:
            if at is not None:
                found.setdefault(at, set()).add(part)

    if fact["placed"] is not None:
        wrote("placed", fact["placed"]["at"])
    if fact["cancelled"] is not None:
        wrote("cancelled", fact["cancelled"]["at"])
    wrote("reserved", *(r["at"] for r in fact["reserved"]))
    wrote("backordered", *(b["at"] for b in fact["backordered"]))
    for s in fact["shipments"].values():
        wrote("shipments", s["created_at"], s["picked_at"], s["dispatched_at"], s["returned_at"], s["cancelled_at"])
        wrote("shipments", s["exception_at"], s.get("delivered_seen_at", s["delivered_at"]))
    for r in fact["returns"].values():
        wrote("returns", r["approved_at"], r["received_at"], *(x["at"] for x in r.get("refunds", [])))
    for c in fact["cases"].values():
        wrote("cases", c["opened_at"], c["resolved_at"], *c["responses"])
    return [(at, frozenset(found[at])) for at in sorted(found)]


def stock_key(sku: str, warehouse: str) -> str:
    return f"{sku}@{warehouse}"


def fold_stock(fact: Fact, event: Observed) -> bool:
    """Fold a `StockLevelChanged` into its sku x warehouse fact.

    The levels are kept sorted by event time, and the daily figures are recomputed from them, so a level that
    arrives late still lands on its own day. Units out are drops of on-hand caused by shipping; demand is growth
    of the allocated units caused by allocation to an order."""
    if (event.source, event.type) != STOCK_TYPE or not _first_time(fact, event):
        return False
    d = event.data
    level = [event.occurred_at, d["on_hand"], d["allocated"], d["available"], d["cause"]]
    levels: list[list[Any]] = fact["levels"]
    if not levels or levels[-1] <= level:
        # In order (the usual case: one writer per sku publishes in order): only the level's own day changes.
        previous = levels[-1] if levels else None
        levels.append(level)
        add_level(fact["days"], previous, level)
    else:
        bisect.insort(levels, level)
        fact["days"] = daily_stock(levels)
    return True


def add_level(days: dict[str, dict[str, int]], previous: list[Any] | None, level: list[Any]) -> None:
    at, on_hand, allocated, available, cause = level
    before_on_hand, before_allocated = (previous[1], previous[2]) if previous else (0, 0)
    # A day's lowest level includes the one carried into it: a stock-out that began yesterday covers its morning.
    opening = previous[3] if previous and previous[0][:10] < at[:10] else available
    day = days.setdefault(at[:10], {"min": min(opening, available), "close": available, "out": 0, "demand": 0})
    if cause == "shipped":
        day["out"] += max(0, before_on_hand - on_hand)
    if cause == "allocated":
        day["demand"] += max(0, allocated - before_allocated)
    day["min"] = min(day["min"], available)
    day["close"] = available


def daily_stock(levels: list[list[Any]]) -> dict[str, dict[str, int]]:
    days: dict[str, dict[str, int]] = {}
    for index, level in enumerate(levels):
        add_level(days, levels[index - 1] if index else None, level)
    return days


def available_now(fact: Fact) -> int:
    levels = fact["levels"]
    return int(levels[-1][3]) if levels else 0
