"""The KPI formulas, from summed day buckets to figures. Pure: counters in, numbers out.

Every rate is `numerator ÷ denominator` of counters of the same period (README, "KPIs for the manager", gives
each formula); a rate with a zero denominator is None ("no data"), never 0. Money is in cents inside and shown
in units of the currency.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from services.reporting.domain.rules import minutes_between, percentile

Counters = Mapping[str, int]


def ratio(numerator: float, denominator: float) -> float | None:
    return None if not denominator else round(numerator / denominator, 4)


def money(value_cents: float) -> float:
    return round(value_cents / 100, 2)


def total(counters: Counters, prefix: str) -> int:
    """Sum of the counters named `prefix` or `prefix|…`."""
    return sum(v for k, v in counters.items() if k == prefix or k.startswith(prefix + "|"))


def by_part(counters: Counters, prefix: str, index: int) -> Counter[str]:
    """Counters `prefix|a|b…` summed by their `index`-th part after the prefix."""
    result: Counter[str] = Counter()
    for name, value in counters.items():
        if name.startswith(prefix + "|"):
            parts = name[len(prefix) + 1 :].split("|")
            result[parts[index]] += value
    return result


def histograms(counters: Counters, stage: str) -> dict[tuple[str, str, str], dict[int, int]]:
    """`cyc|stage|a|b|minutes` → {(stage, a, b): {minutes: count}}."""
    found: dict[tuple[str, str, str], dict[int, int]] = {}
    prefix = f"cyc|{stage}|"
    for name, value in counters.items():
        if name.startswith(prefix):
            a, b, minutes = name[len(prefix) :].split("|")
            bucket = found.setdefault((stage, a, b), {})
            bucket[int(minutes)] = bucket.get(int(minutes), 0) + value
    return found


def merged(histos: Iterable[dict[int, int]]) -> dict[int, int]:
    result: Counter[int] = Counter()
    for h in histos:
        result.update(h)
    return dict(result)


def hours(minutes: int | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 4)


def cycle(counters: Counters, stage: str, dimension: int | None = None) -> dict[str, Any]:
    """p50/p90 of a cycle, in hours: overall, and by the dimension at `dimension` (0 warehouse/category, 1 carrier)."""
    histos = histograms(counters, stage)
    overall = merged(histos.values())
    figure: dict[str, Any] = {
        "count": sum(overall.values()),
        "p50_h": hours(percentile(overall, 0.5)),
        "p90_h": hours(percentile(overall, 0.9)),
    }
    if dimension is not None:
        groups: dict[str, list[dict[int, int]]] = {}
        for (_, a, b), h in histos.items():
            groups.setdefault((a, b)[dimension], []).append(h)
        figure["by"] = {
            name: {
                "count": sum(merged(hs).values()),
                "p50_h": hours(percentile(merged(hs), 0.5)),
                "p90_h": hours(percentile(merged(hs), 0.9)),
            }
            for name, hs in sorted(groups.items())
        }
    return figure


def fulfillment(c: Counters) -> dict[str, Any]:
    orders = c.get("orders", 0)
    perfect = by_part(c, "perfect", 0)
    scored = perfect["perfect"] + perfect["imperfect"]
    cancelled_by: dict[str, int] = {}
    for name, value in c.items():
        if name.startswith("cancelled|"):
            cancelled_by[name[len("cancelled|") :]] = cancelled_by.get(name[len("cancelled|") :], 0) + value
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


def returns(c: Counters) -> dict[str, Any]:
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


def customers(c: Counters, to_date: Counters, top: int = 10) -> dict[str, Any]:
    """`c`: the period's counters; `to_date`: every day up to the period's end (for lifetime value)."""
    per_customer: dict[str, dict[str, int]] = {}
    for name, value in c.items():
        if name.startswith("cust|"):
            customer, what = name[5:].rsplit("|", 1)
            per_customer.setdefault(customer, {"orders": 0, "net": 0})[what] += value
    buyers = [cid for cid, v in per_customer.items() if v["orders"] > 0]
    repeat = [cid for cid in buyers if per_customer[cid]["orders"] >= 2]
    lifetime: dict[str, dict[str, int]] = {}
    for name, value in to_date.items():
        if name.startswith("cust|"):
            customer, what = name[5:].rsplit("|", 1)
            lifetime.setdefault(customer, {"orders": 0, "net": 0})[what] += value
    ranked = sorted(lifetime.items(), key=lambda item: (-item[1]["net"], item[0]))
    kept = c.get("kept_orders", 0)
    return {
        "orders": kept,
        "customers": len(buyers),
        "aov": None if not kept else money(c.get("net_cents", 0) / kept),
        "net_revenue": money(c.get("net_cents", 0)),
        "purchase_frequency": ratio(kept, len(buyers)),
        "repeat_customer_rate": ratio(len(repeat), len(buyers)),
        "top_customers": [
            {"customer_id": cid, "clv": money(v["net"]), "orders": v["orders"]} for cid, v in ranked[:top]
        ],
    }


def support(c: Counters, open_cases: list[dict[str, Any]], now: str) -> dict[str, Any]:
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
