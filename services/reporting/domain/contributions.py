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
known then (`layers_by_section` computes them from the fact, `until` sums them).
"""

from __future__ import annotations

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


# Counter names repeat across orders and, above all, across the layers of one order (each recomputes all of its
# contributions): built once. A fold computes contributions once per event, so they are its main cost.
@lru_cache(maxsize=1 << 17)
def key(*parts: object) -> str:
    return "|".join(part(p) for p in parts)


@lru_cache(maxsize=1 << 16)
def _cycle(name: str, start: str, end: str) -> str:
    return f"cyc|{name}|{duration_class(minutes_between(start, end))}"


class _Adder:
    __slots__ = ("days",)

    def __init__(self) -> None:
        self.days: dict[str, dict[str, int]] = {}

    def add(self, at: str | None, name: str, amount: int = 1) -> None:
        if at is None or amount == 0:
            return
        counters = self.days.get(at[:10])
        if counters is None:
            self.days[at[:10]] = {name: amount}
        else:
            counters[name] = counters.get(name, 0) + amount

    def sample(self, at: str | None, name: str, start: str | None, end: str | None) -> None:
        if at is None or start is None or end is None:
            return
        self.add(at, _cycle(name, start, end))


def fully_reserved_at(fact: Fact) -> str | None:
    """When the last ordered unit was allocated (backorder fills included), by event time."""
    placed = fact["placed"]
    if placed is None:
        return None
    reserved = fact["reserved"]
    if not reserved:
        return None
    wanted = {line["sku"]: line["quantity"] for line in placed["lines"]}
    held: dict[str, int] = {}
    for reservation in reserved if len(reserved) == 1 else sorted(reserved, key=lambda r: r["at"]):
        for allocation in reservation["allocations"]:
            held[allocation["sku"]] = held.get(allocation["sku"], 0) + allocation["quantity"]
        if all(held.get(sku, 0) >= quantity for sku, quantity in wanted.items()):
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
    ordered: dict[str, int] = {}
    for line in placed["lines"]:
        ordered[line["sku"]] = ordered.get(line["sku"], 0) + line["quantity"]
    delivered: dict[str, int] = {}
    for shipment in shipments:
        if shipment["delivered_at"] is not None:
            for line in shipment["lines"]:
                delivered[line["sku"]] = delivered.get(line["sku"], 0) + line["quantity"]
    on_time = all(
        (s["dispatched_at"] is None or rule.on_time(placed["at"], placed["method"], s["dispatched_at"]))
        and s["late"] is not True
        for s in shipments
    )
    in_full = fact["cancelled"] is None and all(delivered.get(sku, 0) >= q for sku, q in ordered.items())
    undamaged = not any(line["quantity"] for ret in fact["returns"].values() for line in ret["damaged"])
    parts = {"on_time": on_time, "in_full": in_full, "not_damaged": undamaged}
    failed = fact["cancelled"] is not None or any(s["returned_at"] for s in shipments)
    if not failed and not in_full:
        return "pending", parts
    return ("perfect" if on_time and in_full and undamaged else "imperfect"), parts


def contributions(fact: Fact, rule: ShipByRule) -> Buckets:
    return combined(sections(fact, rule))


# An order's contributions in sections, each written from a few parts of its fact (the parts that events change:
# `facts.PART_OF`), and no counter written by two of them: a fold recomputes only the sections that read a part
# its events changed, and adds their differences. Every section but the cases' needs the order placed.


def _placement(out: _Adder, fact: Fact, rule: ShipByRule) -> None:
    placed = fact["placed"]
    day = placed["at"]
    cancelled = fact["cancelled"]
    out.add(day, "orders")
    out.add(day, "units", sum(line["quantity"] for line in placed["lines"]))
    out.add(day, "gross_cents", placed["total"])
    if cancelled:
        out.add(day, "cancelled")
    else:
        net = placed["total"] - refunded_cents(fact)
        out.add(day, "kept_orders")
        out.add(day, "net_cents", net)
        out.add(day, key("cust", placed["customer"], "orders"))
        out.add(day, key("cust", placed["customer"], "net"), net)


def _cancellation(out: _Adder, fact: Fact, rule: ShipByRule) -> None:
    cancelled = fact["cancelled"]
    if cancelled:
        out.add(fact["placed"]["at"], key("cancelled", cancellation_stage(fact), cancelled["reason"]))


def _backorders(out: _Adder, fact: Fact, rule: ShipByRule) -> None:
    if fact["backordered"]:
        out.add(fact["placed"]["at"], "backordered")
    for backorder in fact["backordered"]:
        for line in backorder["lines"]:
            out.add(backorder["at"], key("bo_units", line["sku"]), line["quantity"])
            out.add(backorder["at"], key("bo_orders", line["sku"]))


def _reservation(out: _Adder, fact: Fact, rule: ShipByRule) -> None:
    reserved = fully_reserved_at(fact)
    out.sample(reserved, key("reserved", "-", "-"), fact["placed"]["at"], reserved)


def _shipping(out: _Adder, fact: Fact, rule: ShipByRule) -> None:
    placed = fact["placed"]
    day = placed["at"]
    shipments = live_shipments(fact)
    dispatched = [s for s in shipments if s["dispatched_at"] is not None]
    if dispatched:
        out.add(day, "shipped_orders")
        out.add(day, "fill_ordered", sum(line["quantity"] for line in placed["lines"]))
        out.add(day, "fill_first", sum(line["quantity"] for line in dispatched[0]["lines"]))
        if len(shipments) > 1:
            out.add(day, "split")
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


def _perfect(out: _Adder, fact: Fact, rule: ShipByRule) -> None:
    day = fact["placed"]["at"]
    score, parts = perfect_score(fact, rule)
    out.add(day, key("perfect", score))
    if score != "pending":
        for name, kept in parts.items():
            out.add(day, key("perfect_part", name), int(kept))


def _returns(out: _Adder, fact: Fact, rule: ShipByRule) -> None:
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


def _cases(out: _Adder, fact: Fact, rule: ShipByRule) -> None:
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


Section = Callable[[_Adder, Fact, ShipByRule], None]
# Each section, and the parts of the fact it reads (besides `placed`, which all but the cases' read).
SECTIONS: dict[str, tuple[Section, frozenset[str]]] = {
    "placement": (_placement, frozenset({"placed", "cancelled", "returns"})),
    "cancellation": (_cancellation, frozenset({"placed", "cancelled", "shipments", "reserved", "backordered"})),
    "backorders": (_backorders, frozenset({"placed", "backordered"})),
    "reservation": (_reservation, frozenset({"placed", "reserved"})),
    "shipping": (_shipping, frozenset({"placed", "shipments"})),
    "perfect": (_perfect, frozenset({"placed", "shipments", "cancelled", "returns"})),
    "returns": (_returns, frozenset({"placed", "returns"})),
    "cases": (_cases, frozenset({"cases"})),
}


@lru_cache(maxsize=256)
def _reading(changed: frozenset[str] | None) -> tuple[tuple[str, Section], ...]:
    return tuple(
        (name, write) for name, (write, reads) in SECTIONS.items() if changed is None or not changed.isdisjoint(reads)
    )


def sections(fact: Fact, rule: ShipByRule, changed: frozenset[str] | None = None) -> dict[str, Buckets]:
    """The sections (all, or those reading a part in `changed`), without the row counts."""
    found: dict[str, Buckets] = {}
    placed = fact["placed"] is not None
    for name, write in _reading(changed):
        out = _Adder()
        if placed or name == "cases":
            write(out, fact, rule)
        found[name] = out.days
    return found


def combined(found: dict[str, Buckets]) -> Buckets:
    """The whole contributions from all the sections: their counters and, per day, the row counts."""
    total: Buckets = {}
    for section in found.values():
        for day, counters in section.items():
            total.setdefault(day, {}).update(counters)
    return with_rows({}, {day: {k: v for k, v in c.items() if v} for day, c in total.items()})


def with_rows(before: Buckets, change: Buckets) -> Buckets:
    """`change` (of counters, not row counts) to an order's contributions `before`, with the changes of its row
    counts added (in place): `rows|<family>` is 1 on each day where it adds to one of the family's counters."""
    for day, counters in change.items():
        old = before.get(day, {})
        appeared: set[str] = set()
        lost: set[str] = set()
        for name, amount in counters.items():
            was = old.get(name, 0)
            if not was:
                if amount:
                    appeared.update(families_of(name))
            elif was + amount == 0:
                lost.update(families_of(name))
        for family in appeared:
            if not old.get(ROWS + family):
                counters[ROWS + family] = 1
        # A counter left the day: does another of the family's counters stay?
        for family in lost - appeared:
            if not any(
                family in families_of(name) and old.get(name, 0) + counters.get(name, 0)
                for name in old.keys() | counters.keys()
                if not name.startswith(ROWS)
            ):
                counters[ROWS + family] = -1
    return {day: counters for day, counters in change.items() if counters}


def delta(before: Buckets, after: Buckets) -> Buckets:
    """after - before, per day and counter (zeros dropped)."""
    result: Buckets = {}
    for day, new in after.items():
        old = before.get(day)
        if old is None:
            changes = {k: v for k, v in new.items() if v}
        elif old == new:  # most of an order's days, when one of its events is folded
            continue
        else:
            changes = {k: v - old.get(k, 0) for k, v in new.items() if v != old.get(k, 0)}
            changes.update((k, -v) for k, v in old.items() if v and k not in new)
        if changes:
            result[day] = changes
    for day, old in before.items():
        if day not in after:
            changes = {k: -v for k, v in old.items() if v}
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


def layers_by_section(
    fact: Any,
    rule: ShipByRule,
    as_of: Callable[[Any, str], Any],
    changes: Iterable[tuple[str, frozenset[str]]],
    before: Buckets,
) -> tuple[list[Layer], Buckets]:
    """The order's contributions as layers, one per instant of `changes` (its event times, sorted, each with the
    parts of the fact written then) at which they changed: `as_of(fact, t)` is the fact as known at t; `before`,
    what it contributed before the first instant. Also returns what it contributes after the last one.

    Computed the way the fold makes a layer: every section at the first instant, then at each instant only those
    reading a part written at it (no counter is written by two sections, so their changes merge without adding),
    the row counts adjusted last. A late event redoes its order's layers from its time; recomputing every section
    at every later instant made those redos 30 % of the CPU of the batches while a backlog drained (py-spy)."""
    found: list[Layer] = []
    total = before
    current: dict[str, Buckets] | None = None
    for at, parts in changes:
        view = as_of(fact, at)
        if current is None:
            current = sections(view, rule)
            after = combined(current)
            change = delta(total, after)
            total = after
        else:
            change = {}
            for name, section in sections(view, rule, parts).items():
                for day, counters in delta(current[name], section).items():
                    change.setdefault(day, {}).update(counters)
                current[name] = section
            change = with_rows(total, change)
            add_into(total, change)
        if change:
            found.append((at, change))
    if current is None:
        total = {day: dict(counters) for day, counters in before.items()}
    return found, total


def until(found: Iterable[Layer], at: str | None = None, start: Buckets | None = None) -> Buckets:
    """The sum of the layers up to `at` (all of them when None), added to `start` (left as it is)."""
    total: Buckets = {day: dict(counters) for day, counters in (start or {}).items()}
    for when, change in found:
        if at is not None and when > at:
            break
        add_into(total, change)
    return total
