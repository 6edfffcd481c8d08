"""A digest: the headline KPIs of a period with their change against the previous period of the same length, the
exceptions that need someone now, and daily series for the charts. Pure: figures in, a JSON-able dict out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

Kind = Literal["daily", "weekly"]

Pick = Callable[[dict[str, Any]], Any]


def _path(*keys: str) -> Pick:
    def pick(figures: dict[str, Any]) -> Any:
        value: Any = figures
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    return pick


# (family, label, how to read it from the family's figures)
HEADLINES: tuple[tuple[str, str, Pick], ...] = (
    ("fulfillment", "orders placed", _path("orders")),
    ("fulfillment", "on-time ship rate", _path("on_time_ship_rate")),
    ("fulfillment", "on-time delivery rate", _path("on_time_delivery_rate")),
    ("fulfillment", "fill rate", _path("fill_rate")),
    ("fulfillment", "backorder rate", _path("backorder_rate")),
    ("fulfillment", "split-shipment rate", _path("split_shipment_rate")),
    ("fulfillment", "cancellation rate", _path("cancellation_rate")),
    ("fulfillment", "perfect order rate", _path("perfect_order_rate")),
    ("fulfillment", "placed to delivered p50 (h)", _path("cycle_time", "placed_to_delivered", "p50_h")),
    ("fulfillment", "placed to delivered p90 (h)", _path("cycle_time", "placed_to_delivered", "p90_h")),
    ("returns", "returned units", _path("returned_units")),
    ("returns", "return rate", _path("return_rate")),
    ("returns", "refunded amount", _path("refunded_amount")),
    ("returns", "refund time p50 (h)", _path("refund_time", "p50_h")),
    ("customers", "customers", _path("customers")),
    ("customers", "average order value", _path("aov")),
    ("customers", "net revenue", _path("net_revenue")),
    ("customers", "repeat-customer rate", _path("repeat_customer_rate")),
    ("support", "cases opened", _path("cases_opened")),
    ("support", "cases resolved", _path("cases_resolved")),
    ("support", "first response p50 (h)", _path("first_response_time", "p50_h")),
    ("support", "resolution p50 (h)", _path("resolution_time", "p50_h")),
)


@dataclass(frozen=True)
class DigestPeriod:
    kind: Kind
    start: date
    end: date

    @property
    def report_id(self) -> str:
        if self.kind == "daily":
            return f"daily-{self.start.isoformat()}"
        year, week, _ = self.start.isocalendar()
        return f"weekly-{year}-W{week:02d}"

    @property
    def previous(self) -> tuple[date, date]:
        length = (self.end - self.start).days + 1
        return self.start - timedelta(days=length), self.start - timedelta(days=1)

    @property
    def chart_start(self) -> date:
        """Charts show the period and what led to it: 14 days for a daily digest, 4 weeks for a weekly one."""
        return self.end - timedelta(days=13 if self.kind == "daily" else 27)

    @classmethod
    def daily(cls, day: date) -> DigestPeriod:
        return cls("daily", day, day)

    @classmethod
    def weekly(cls, any_day: date) -> DigestPeriod:
        monday = any_day - timedelta(days=any_day.weekday())
        return cls("weekly", monday, monday + timedelta(days=6))


def change(value: Any, before: Any) -> float | None:
    if not isinstance(value, int | float) or not isinstance(before, int | float):
        return None
    return round(value - before, 4)


def headlines(current: Mapping[str, dict[str, Any]], previous: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for family, label, pick in HEADLINES:
        value, before = pick(current.get(family, {})), pick(previous.get(family, {}))
        rows.append(
            {"family": family, "kpi": label, "value": value, "previous": before, "change": change(value, before)}
        )
    return rows


def exceptions(
    attention: list[dict[str, Any]],
    inventory: list[dict[str, Any]],
    order_now: list[dict[str, Any]],
    now: datetime,
    case_target_hours: float,
) -> dict[str, list[dict[str, Any]]]:
    """What needs someone as of `now`: late shipments (not dispatched by the ship-by day, or not delivered by the
    promise), shipments in a carrier exception, stock-outs, skus under their reorder point, returns received but
    not refunded, and cases open for longer than the target."""
    today = now.date().isoformat()
    late, in_exception, awaiting, overdue = [], [], [], []
    for item in attention:
        for s in item["shipments"]:
            row = {"order_id": item["order_id"], **s}
            if (s["dispatched_at"] is None and s["ship_by"] < today) or s["promised"] < today:
                late.append(row)
            if s["exception_at"]:
                in_exception.append(row)
        awaiting += [{"order_id": item["order_id"], **r} for r in item["awaiting_refund"]]
        for case in item["open_cases"]:
            opened = datetime.fromisoformat(case["opened_at"].replace("Z", "+00:00"))
            if (now - opened).total_seconds() > case_target_hours * 3600:
                overdue.append({"order_id": item["order_id"], **case})
    stock_outs = [
        {"sku": r["sku"], "warehouse": r["warehouse"], "available": r["available"]}
        for r in inventory
        if r["available"] <= 0
    ]
    under = [
        {k: r[k] for k in ("sku", "warehouse", "available", "reorder_point", "suggested_quantity", "days_of_supply")}
        for r in order_now
    ]
    return {
        "late_shipments": late,
        "exception_shipments": in_exception,
        "stock_outs": stock_outs,
        "under_reorder_point": under,
        "returns_awaiting_refund": awaiting,
        "cases_past_target": overdue,
    }


def has_data(current: Mapping[str, dict[str, Any]]) -> bool:
    """Anything happened in the period: an order, a shipment, a delivery, a return, a refund or a case."""
    f, r, s = current.get("fulfillment", {}), current.get("returns", {}), current.get("support", {})
    counts = [
        f.get("orders"), f.get("shipments_dispatched"), f.get("shipments_delivered"),
        r.get("returned_units"), r.get("refunds"), s.get("cases_opened"), s.get("cases_resolved"),
    ]  # fmt: skip
    return any(isinstance(c, int) and c > 0 for c in counts)
