"""The KPI formulas, from summed day buckets to figures. Pure: counters in, numbers out.

Every rate is `numerator ÷ denominator` of counters of the same period (README, "KPIs for the manager", gives
each formula); a rate with a zero denominator is None ("no data"), never 0. Money is in cents inside and shown
in units of the currency.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from services.reporting.domain.rules import minutes_between, percentile

Counters = Mapping[str, int]


def ratio(numerator: float, denominator: float) -> float | None:
    return None if not denominator else round(numerator / denominator, 4)


def money(value_cents: float) -> float:
    return round(value_cents / 100, 2)


@lru_cache(maxsize=1 << 18)
def _split(name: str) -> tuple[str, tuple[str, ...]] | None:
    """A counter's name as its first part and the others (None for a name of one part). The same names come back
    in every day and every query (a query by day indexes each day's thousands of names): split once."""
    head, separator, rest = name.partition("|")
    return (head, tuple(rest.split("|"))) if separator else None


class Tally(Mapping[str, int]):
    """Counters indexed once by the first part of their name, so that each formula reads only its own counters
    (a month of buckets holds thousands of names; scanning all of them per formula made queries slow)."""

    def __init__(self, counters: Counters) -> None:
        self.counters = counters
        self.cycles: dict[str, dict[tuple[str, str, str], dict[int, int]]] = {}
        # Per stage, the spread over all its histograms (asked again for each dimension of it), and per stage and
        # dimension the whole figure: a day's Tally is kept across queries (`DaySums`), so its by-day figures are
        # computed once per version of the day.
        self.spreads: dict[str, dict[str, Any]] = {}
        self.cycles_by: dict[tuple[str, int | None], dict[str, Any]] = {}
        self.groups: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        groups = self.groups
        for name, value in counters.items():
            split = _split(name)
            if split is not None:
                found = groups.get(split[0])
                if found is None:
                    groups[split[0]] = [(split[1], value)]
                else:
                    found.append((split[1], value))

    def __getitem__(self, name: str) -> int:
        return self.counters[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.counters)

    def __len__(self) -> int:
        return len(self.counters)


def indexed(counters: Counters) -> Tally:
    return counters if isinstance(counters, Tally) else Tally(counters)


def total(counters: Counters, prefix: str) -> int:
    """Sum of the counters named `prefix` or `prefix|…`."""
    tally = indexed(counters)
    return tally.get(prefix, 0) + sum(value for _, value in tally.groups.get(prefix, ()))


def by_part(counters: Counters, prefix: str, index: int) -> Counter[str]:
    """Counters `prefix|a|b…` summed by their `index`-th part after the prefix."""
    result: Counter[str] = Counter()
    for parts, value in indexed(counters).groups.get(prefix, ()):
        result[parts[index]] += value
    return result


def histograms(counters: Counters, stage: str) -> dict[tuple[str, str, str], dict[int, int]]:
    """`cyc|stage|a|b|minutes` → {(stage, a, b): {minutes: count}} (every stage sorted out at the first call)."""
    tally = indexed(counters)
    if not tally.cycles:
        for parts, value in tally.groups.get("cyc", ()):
            bucket = tally.cycles.setdefault(parts[0], {}).setdefault((parts[0], parts[1], parts[2]), {})
            minutes = int(parts[3])
            bucket[minutes] = bucket.get(minutes, 0) + value
        tally.cycles.setdefault("", {})  # sorted out, even when there is no cycle at all
    return tally.cycles.get(stage, {})


def merged(histos: Iterable[dict[int, int]]) -> dict[int, int]:
    result: dict[int, int] = {}
    for h in histos:
        for minutes, count in h.items():
            result[minutes] = result.get(minutes, 0) + count
    return result


def hours(minutes: int | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 4)


def spread(histogram: dict[int, int]) -> dict[str, Any]:
    """Count, p50 and p90 (hours) of one histogram."""
    return {
        "count": sum(histogram.values()),
        "p50_h": hours(percentile(histogram, 0.5)),
        "p90_h": hours(percentile(histogram, 0.9)),
    }


def cycle(counters: Counters, stage: str, dimension: int | None = None) -> dict[str, Any]:
    """p50/p90 of a cycle, in hours: overall, and by the dimension at `dimension` (0 warehouse/category, 1 carrier)."""
    tally = indexed(counters)
    figure = tally.cycles_by.get((stage, dimension))
    if figure is None:
        histos = histograms(tally, stage)
        overall = tally.spreads.get(stage)
        if overall is None:
            overall = tally.spreads[stage] = spread(merged(histos.values()))
        figure = dict(overall)
        if dimension is not None:
            groups: dict[str, list[dict[int, int]]] = {}
            for (_, a, b), h in histos.items():
                groups.setdefault((a, b)[dimension], []).append(h)
            figure["by"] = {name: spread(merged(hs)) for name, hs in sorted(groups.items())}
        tally.cycles_by[(stage, dimension)] = figure
    # A copy: the kept one must not change with what a caller does to its answer.
    found = dict(figure)
    if "by" in found:
        found["by"] = {name: dict(value) for name, value in found["by"].items()}
    return found


def fulfillment(counters: Counters) -> dict[str, Any]:
    c = indexed(counters)
    orders = c.get("orders", 0)
    perfect = by_part(c, "perfect", 0)
    scored = perfect["perfect"] + perfect["imperfect"]
    cancelled_by: Counter[str] = Counter()
    for parts, value in c.groups.get("cancelled", ()):
        cancelled_by["|".join(parts)] += value
    return {
        "orders": orders,
        "on_time_ship_rate": ratio(total(c, "ship_on_time"), total(c, "ship")),
        "shipments_dispatched": total(c, "ship"),
        "on_time_delivery_rate": ratio(total(c, "delivered_on_time"), total(c, "delivered")),
        "shipments_delivered": total(c, "delivered"),
        "fill_rate": ratio(c.get("fill_first", 0), c.get("fill_ordered", 0)),
        "backorder_rate": ratio(c.get("backordered", 0), orders),
        "split_shipment_rate": ratio(c.get("split", 0), c.get("shipped_orders", 0)),
        "cancellation_rate": ratio(c.get("cancelled", 0), orders),
        "cancellations": {
            "by_stage": {k: ratio(v, orders) for k, v in sorted(by_part(c, "cancelled", 0).items())},
            "by_reason": {k: ratio(v, orders) for k, v in sorted(by_part(c, "cancelled", 1).items())},
            "counts": dict(sorted(cancelled_by.items())),
        },
        "perfect_order_rate": ratio(perfect["perfect"], scored),
        "perfect_orders": {"perfect": perfect["perfect"], "scored": scored, "pending": perfect["pending"]},
        "cycle_time": {
            "placed_to_reserved": cycle(c, "reserved"),
            "placed_to_dispatched": {
                **cycle(c, "dispatched", 0),
                "by_carrier": cycle(c, "dispatched", 1)["by"],
            },
            "placed_to_delivered": {
                **cycle(c, "delivered", 0),
                "by_carrier": cycle(c, "delivered", 1)["by"],
            },
        },
    }


def returns(counters: Counters) -> dict[str, Any]:
    c = indexed(counters)
    delivered = by_part(c, "delivered_units", 0)
    returned_sku = by_part(c, "returned", 0)
    returned_reason = by_part(c, "returned", 1)
    all_delivered = sum(delivered.values())
    condition = by_part(c, "returned_condition", 0)
    returned_units = condition["resellable"] + condition["damaged"]
    return {
        "returned_units": returned_units,
        "delivered_units": all_delivered,
        "return_rate": ratio(returned_units, all_delivered),
        "return_rate_by_sku": {
            sku: ratio(returned_sku[sku], delivered[sku]) for sku in sorted(delivered.keys() | returned_sku.keys())
        },
        "return_rate_by_reason": {reason: ratio(n, all_delivered) for reason, n in sorted(returned_reason.items())},
        "refunds": c.get("refunds", 0),
        "refunded_amount": money(c.get("refund_cents", 0)),
        "refund_time": cycle(c, "refund"),
        "resellable_share": ratio(condition["resellable"], returned_units),
        "damaged_share": ratio(condition["damaged"], returned_units),
    }


def per_customer(counters: Counters) -> dict[str, dict[str, int]]:
    """`cust|<id>|orders` and `cust|<id>|net` → {id: {"orders", "net"}}."""
    found: dict[str, dict[str, int]] = {}
    for parts, value in indexed(counters).groups.get("cust", ()):
        found.setdefault(parts[0], {"orders": 0, "net": 0})[parts[1]] += value
    return found


def top_customers(lifetime: Mapping[str, dict[str, int]], top: int = 10) -> list[dict[str, Any]]:
    """Historic CLV: net revenue to date, highest first (ties by id)."""
    ranked = heapq.nsmallest(top, lifetime.items(), key=lambda item: (-item[1]["net"], item[0]))
    return [{"customer_id": cid, "clv": money(v["net"]), "orders": v["orders"]} for cid, v in ranked]


def customers(
    counters: Counters, lifetime_top: list[dict[str, Any]], buyers: tuple[int, int] | None = None
) -> dict[str, Any]:
    """`counters`: the period's; `lifetime_top`: `top_customers` of every day up to the period's end; `buyers`: the
    period's customers with an order and those with two or more, when counted already (`domain.customers`),
    else from the period's `cust|…` counters."""
    c = indexed(counters)
    if buyers is None:
        period = per_customer(c)
        found = [cid for cid, v in period.items() if v["orders"] > 0]
        buyers = (len(found), sum(1 for cid in found if period[cid]["orders"] >= 2))
    count, repeat = buyers
    kept = c.get("kept_orders", 0)
    return {
        "orders": kept,
        "customers": count,
        "aov": None if not kept else money(c.get("net_cents", 0) / kept),
        "net_revenue": money(c.get("net_cents", 0)),
        "purchase_frequency": ratio(kept, count),
        "repeat_customer_rate": ratio(repeat, count),
        "top_customers": lifetime_top,
    }


def open_cases(counters: Counters) -> list[dict[str, Any]]:
    """The cases open as known by the counters of every day so far: `case_open|<category>|<opened at>`."""
    return [
        {"category": parts[0], "opened_at": parts[1]}
        for parts, value in indexed(counters).groups.get("case_open", ())
        for _ in range(value)
    ]


def support(counters: Counters, open_cases: list[dict[str, Any]], now: str) -> dict[str, Any]:
    c = indexed(counters)
    ages = Counter[str]()
    for case in open_cases:
        days = minutes_between(case["opened_at"], now) / (24 * 60)
        ages["<1d" if days < 1 else "1-3d" if days < 3 else "3-7d" if days < 7 else ">7d"] += 1
    return {
        "cases_opened": total(c, "case_opened"),
        "cases_by_category": dict(sorted(by_part(c, "case_opened", 0).items())),
        "cases_resolved": total(c, "case_resolved"),
        "first_response_time": cycle(c, "first_response", 0),
        "resolution_time": cycle(c, "resolution", 0),
        "open_cases": len(open_cases),
        "open_cases_by_age": {age: ages[age] for age in ("<1d", "1-3d", "3-7d", ">7d")},
    }
