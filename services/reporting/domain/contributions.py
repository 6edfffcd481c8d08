"""What one order adds to the day buckets: `contributions(fact)` → {day: {counter: amount}}.

The read model keeps, per partition and UTC day, the sum of the contributions of the partition's orders. When an
order's fact changes, its old contributions are taken out and its new ones put in (`delta`), so a bucket is
always exactly the sum over its orders, whatever order the events came in. Buckets of different partitions add
up, since every order lives in exactly one partition: a figure for all orders is the sum over partitions.

Which day a counter lands on (README, "KPIs for the manager"):
- order cohort — the day the order was placed: orders, units, revenue net of refunds, cancellations, backorders,
  split shipments, fill rate, perfect orders, customers;
- the day of the event that decides it — dispatch (on-time ship), delivery (on-time delivery, delivered units),
  the end of each cycle (reserved, dispatched, delivered), return receipt, refund, case events, backorders by sku.

Counter names are `|`-separated; `|` inside a value (a free-text reason) becomes `/`. Each order also counts
`rows|<family>` = 1 on every day it adds to one of the family's counters: the drill-down's row count.

As of an instant: an order's contributions change only at the times of its events, so the read model keeps them
as *layers* — `(at, what changed at that instant)` — whose sum up to an instant is what the order contributed as
known then (`layers` computes them from the fact, `until` sums them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from services.reporting.domain.facts import Fact
from services.reporting.domain.rules import ShipByRule, duration_class, minutes_between

Buckets = dict[str, dict[str, int]]
Layer = tuple[str, Buckets]

# Which counters make up each KPI family (for drill-downs and their row counts).
FAMILY_PREFIXES: dict[str, tuple[str, ...]] = {
    "fulfillment": (
        "orders", "units", "cancelled", "backordered", "shipped_orders", "fill_", "split", "perfect|", "perfect_part|",
        "ship|", "ship_on_time|", "delivered|", "delivered_on_time|", "cyc|reserved|", "cyc|dispatched|",
        "cyc|delivered|",
    ),
    "inventory": ("bo_units|", "bo_orders|"),
    "returns": ("returns_received", "returned|", "returned_condition|", "delivered_units|", "refund", "cyc|refund|"),
    "customers": ("kept_orders", "net_cents", "gross_cents", "cust|"),
    "support": ("case_opened|", "case_resolved|", "case_open|", "cyc|first_response|", "cyc|resolution|"),
}  # fmt: skip
ROWS = "rows|"


@lru_cache(maxsize=100_000)
def families_of(name: str) -> tuple[str, ...]:
    return tuple(family for family, prefixes in FAMILY_PREFIXES.items() if name.startswith(prefixes))


def part(value: object) -> str:
    return str(value if value is not None else "-").replace("|", "/")


def key(*parts: object) -> str:
    return "|".join(part(p) for p in parts)


class _Adder:
    def __init__(self) -> None:
        self.days: dict[str, Counter[str]] = {}

    def add(self, at: str | None, name: str, amount: int = 1) -> None:
        if at is None or amount == 0:
            return
        self.days.setdefault(at[:10], Counter())[name] += amount

    def sample(self, at: str | None, name: str, start: str | None, end: str | None) -> None:
        if at is None or start is None or end is None:
            return
        self.add(at, f"cyc|{name}|{duration_class(minutes_between(start, end))}")

    def result(self) -> Buckets:
        days: Buckets = {}
        for day, counter in self.days.items():
            counters = {k: v for k, v in counter.items() if v}
            if not counters:
                continue
            for family in {family for name in counters for family in families_of(name)}:
                counters[ROWS + family] = 1
            days[day] = counters
        return days


def fully_reserved_at(fact: Fact) -> str | None:
    """When the last ordered unit was allocated (backorder fills included), by event time."""
    placed = fact["placed"]
    if placed is None:
        return None
    wanted = {line["sku"]: line["quantity"] for line in placed["lines"]}
    held: Counter[str] = Counter()
    for reservation in sorted(fact["reserved"], key=lambda r: r["at"]):
        for allocation in reservation["allocations"]:
            held[allocation["sku"]] += allocation["quantity"]
        if all(held[sku] >= quantity for sku, quantity in wanted.items()):
            return str(reservation["at"])
    return None


def live_shipments(fact: Fact) -> list[dict[str, Any]]:
    """Shipments not cancelled, in dispatch order (undispatched last)."""
    shipments = [s for s in fact["shipments"].values() if s["cancelled_at"] is None]
    return sorted(
        shipments, key=lambda s: (s["dispatched_at"] is None, s["dispatched_at"] or "", s["created_at"] or "")
    )


def refunded_cents(fact: Fact) -> int:
    cancellation = fact["cancelled"]
    total = cancellation["refund"] if cancellation else 0
    return int(total + sum(r["amount"] for ret in fact["returns"].values() for r in ret["refunds"]))


def cancellation_stage(fact: Fact) -> str:
    """How far the order had come when it was cancelled (by event time)."""
    at = fact["cancelled"]["at"]
    if any(s["picked_at"] and s["picked_at"] < at for s in fact["shipments"].values()):
        return "in_warehouse"
    reserved = fully_reserved_at(fact)
    if reserved is not None and reserved < at:
        return "reserved"
    if any(b["at"] < at for b in fact["backordered"]):
        return "backordered"
    return "received"


def perfect_score(fact: Fact, rule: ShipByRule) -> tuple[str, dict[str, bool]]:
    """'pending', 'perfect' or 'imperfect', and the three parts: on time (every shipment dispatched by the ship-by
    day and delivered by the promise), in full (every ordered unit delivered) and not returned damaged."""
    placed = fact["placed"]
    shipments = live_shipments(fact)
    ordered = Counter({line["sku"]: line["quantity"] for line in placed["lines"]})
    delivered: Counter[str] = Counter()
    for shipment in shipments:
        if shipment["delivered_at"] is not None:
            delivered.update({line["sku"]: line["quantity"] for line in shipment["lines"]})
    on_time = all(
        (s["dispatched_at"] is None or rule.on_time(placed["at"], placed["method"], s["dispatched_at"]))
        and s["late"] is not True
        for s in shipments
    )
    in_full = fact["cancelled"] is None and all(delivered[sku] >= q for sku, q in ordered.items())
    undamaged = not any(line["quantity"] for ret in fact["returns"].values() for line in ret["damaged"])
    parts = {"on_time": on_time, "in_full": in_full, "not_damaged": undamaged}
    failed = fact["cancelled"] is not None or any(s["returned_at"] for s in shipments)
    if not failed and not in_full:
        return "pending", parts
    return ("perfect" if on_time and in_full and undamaged else "imperfect"), parts


def contributions(fact: Fact, rule: ShipByRule) -> Buckets:
    placed = fact["placed"]
    out = _Adder()
    if placed is not None:
        _order(out, fact, placed, rule)
    _cases(out, fact)
    return out.result()


def _order(out: _Adder, fact: Fact, placed: dict[str, Any], rule: ShipByRule) -> None:
    day = placed["at"]
    units = sum(line["quantity"] for line in placed["lines"])
    cancelled = fact["cancelled"]
    net = 0 if cancelled else placed["total"] - refunded_cents(fact)
    out.add(day, "orders")
    out.add(day, "units", units)
    out.add(day, "gross_cents", placed["total"])
    if cancelled:
        out.add(day, "cancelled")
        out.add(day, key("cancelled", cancellation_stage(fact), cancelled["reason"]))
    else:
        out.add(day, "kept_orders")
        out.add(day, "net_cents", net)
        out.add(day, key("cust", placed["customer"], "orders"))
        out.add(day, key("cust", placed["customer"], "net"), net)
    if fact["backordered"]:
        out.add(day, "backordered")
    for backorder in fact["backordered"]:
        for line in backorder["lines"]:
            out.add(backorder["at"], key("bo_units", line["sku"]), line["quantity"])
            out.add(backorder["at"], key("bo_orders", line["sku"]))
    shipments = live_shipments(fact)
    dispatched = [s for s in shipments if s["dispatched_at"] is not None]
    if dispatched:
        out.add(day, "shipped_orders")
        out.add(day, "fill_ordered", units)
        out.add(day, "fill_first", sum(line["quantity"] for line in dispatched[0]["lines"]))
        if len(shipments) > 1:
            out.add(day, "split")
    reserved = fully_reserved_at(fact)
    out.sample(reserved, key("reserved", "-", "-"), day, reserved)
    for s in dispatched:
        where = (s["warehouse"], s["carrier"])
        out.add(s["dispatched_at"], key("ship", *where))
        if rule.on_time(day, placed["method"], s["dispatched_at"]):
            out.add(s["dispatched_at"], key("ship_on_time", *where))
        out.sample(s["dispatched_at"], key("dispatched", *where), day, s["dispatched_at"])
        if s["delivered_at"] is not None:
            out.add(s["delivered_at"], key("delivered", *where))
            if not s["late"]:
                out.add(s["delivered_at"], key("delivered_on_time", *where))
            out.sample(s["delivered_at"], key("delivered", *where), day, s["delivered_at"])
            for line in s["lines"]:
                out.add(s["delivered_at"], key("delivered_units", line["sku"]), line["quantity"])
    score, parts = perfect_score(fact, rule)
    out.add(day, key("perfect", score))
    if score != "pending":
        for name, kept in parts.items():
            out.add(day, key("perfect_part", name), int(kept))
    _returns(out, fact)


def _returns(out: _Adder, fact: Fact) -> None:
    for ret in fact["returns"].values():
        received = ret["received_at"]
        if received is not None:
            out.add(received, "returns_received")
            for condition in ("resellable", "damaged"):
                for line in ret[condition]:
                    out.add(received, key("returned", line["sku"], ret["reason"]), line["quantity"])
                    out.add(received, key("returned_condition", condition), line["quantity"])
        for refund in ret["refunds"]:
            out.add(refund["at"], "refunds")
            out.add(refund["at"], "refund_cents", refund["amount"])
            out.sample(refund["at"], key("refund", "-", "-"), received, refund["at"])


def _cases(out: _Adder, fact: Fact) -> None:
    for case in fact["cases"].values():
        opened = case["opened_at"]
        if opened is None:
            continue
        category = case["category"]
        out.add(opened, key("case_opened", category))
        answers = [at for at in case["responses"] if at >= opened]
        if answers:
            out.sample(answers[0], key("first_response", category, "-"), opened, answers[0])
        if case["resolved_at"] is None:
            # Open: named by its opening time, so that the cases open as of any instant (and their ages) can be told.
            out.add(opened, key("case_open", category, opened))
        else:
            out.add(case["resolved_at"], key("case_resolved", category))
            out.sample(case["resolved_at"], key("resolution", category, "-"), opened, case["resolved_at"])


def delta(before: Buckets, after: Buckets) -> Buckets:
    """after - before, per day and counter (zeros dropped)."""
    result: Buckets = {}
    for day in before.keys() | after.keys():
        old, new = before.get(day, {}), after.get(day, {})
        changes = {k: new.get(k, 0) - old.get(k, 0) for k in old.keys() | new.keys()}
        changes = {k: v for k, v in changes.items() if v}
        if changes:
            result[day] = changes
    return result


def add_into(buckets: Buckets, changes: Buckets) -> set[str]:
    """Apply `changes` to `buckets` in place; returns the days changed."""
    for day, counters in changes.items():
        bucket = buckets.setdefault(day, {})
        for name, amount in counters.items():
            value = bucket.get(name, 0) + amount
            if value:
                bucket[name] = value
            else:
                bucket.pop(name, None)
    return set(changes)


def layers(
    fact: Any,
    rule: ShipByRule,
    as_of: Callable[[Any, str], Any],
    times: Iterable[str],
    before: Buckets | None = None,
) -> list[Layer]:
    """The order's contributions as layers, one per instant in `times` (its event times, sorted) at which they
    changed: `as_of(fact, t)` is the fact as known at t; `before`, what it contributed before the first of them."""
    found: list[Layer] = []
    before = before or {}
    for at in times:
        after = contributions(as_of(fact, at), rule)
        change = delta(before, after)
        if change:
            found.append((at, change))
        before = after
    return found


def until(found: Iterable[Layer], at: str | None = None) -> Buckets:
    """The sum of the layers up to `at` (all of them when None)."""
    total: Buckets = {}
    for when, change in found:
        if at is not None and when > at:
            break
        add_into(total, change)
    return total
