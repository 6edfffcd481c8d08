"""Inventory KPIs and replenishment for one sku x warehouse, from its daily stock figures. Pure.

`days` holds, per UTC day with a stock change, the lowest and the last available level, units shipped (out)
and units allocated to orders (demand). A day without a change keeps the previous day's last level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from statistics import NormalDist
from typing import Any

from services.reporting.domain.facts import add_level

DayFigures = dict[str, dict[str, int]]


def known_at(days: DayFigures, day_levels: list[list[Any]] | None, as_of: str) -> tuple[DayFigures, int | None]:
    """An item's daily figures and available level as known at `as_of` (a fixed-width UTC time): the days before
    as they are, its day from the levels of that day up to `as_of` (`day_levels`: the level before the day, then
    the day's; None when the item had no level that day). Available is None when it was not stocked yet."""
    day = as_of[:10]
    known = {d: figures for d, figures in days.items() if d < day}
    previous: list[Any] | None = None
    if day_levels:
        previous = day_levels[0] or None
        for level in day_levels[1:]:
            if level[0] > as_of:
                break
            add_level(known, previous, level)
            previous = level
    if previous is not None:
        return known, int(previous[3])
    latest = max(known, default=None)
    return known, None if latest is None else known[latest]["close"]


def day_range(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


@lru_cache(maxsize=256)
def day_names(start: date, end: date) -> tuple[str, ...]:
    """The range's days as `YYYY-MM-DD`: asked again for every sku x warehouse of an inventory query."""
    return tuple(current.isoformat() for current in day_range(start, end))


def close_before(days: DayFigures, day: str) -> int | None:
    """The last available level of the newest day before `day` with a change (None: not stocked yet)."""
    latest = max((d for d in days if d < day), default=None)
    return None if latest is None else days[latest]["close"]


def inventory_row(days: DayFigures, start: date, end: date, available_now: int) -> dict[str, Any]:
    """Available at the end of the range, units out, days of supply, sell-through and stock-out days."""
    names = day_names(start, end)
    carried = close_before(days, names[0])
    out = 0
    stock_out_days: list[str] = []
    for name in names:
        figures = days.get(name)
        if figures is not None:
            out += figures["out"]
            if figures["min"] <= 0:
                stock_out_days.append(name)
            carried = figures["close"]
        elif carried is not None and carried <= 0:
            stock_out_days.append(name)
    latest = max(days) if days else None
    available = available_now if latest is None or latest <= end.isoformat() else (carried or 0)
    daily_out = out / len(names)
    return {
        "available": available,
        "units_out": out,
        "average_daily_out": round(daily_out, 4),
        "days_of_supply": None if not daily_out else round(available / daily_out, 2),
        "sell_through": None if not (out + available) else round(out / (out + available), 4),
        "stock_out_days": len(stock_out_days),
        "stock_out_dates": stock_out_days,
    }


@dataclass(frozen=True)
class ReplenishmentPolicy:
    window_days: int = 28
    default_lead_time_days: float = 7.0
    lead_times: dict[str, float] | None = None
    service_level: float = 0.95
    cover_days: int = 14

    def lead_time(self, sku: str) -> float:
        return (self.lead_times or {}).get(sku, self.default_lead_time_days)

    @property
    def z(self) -> float:
        return NormalDist().inv_cdf(self.service_level)


@lru_cache(maxsize=1024)
def window(end: date, length: int) -> tuple[str, ...]:
    """The `length` days ending with `end`, as names (the crossing check asks for them at every stock level)."""
    return tuple(d.isoformat() for d in day_range(end - timedelta(days=length - 1), end))


def demand_series(days: DayFigures, end: date, length: int) -> list[int]:
    """Units allocated per day over the `length` days ending with `end` (days without demand count as 0)."""
    return [days[d]["demand"] if d in days else 0 for d in window(end, length)]


def replenishment(sku: str, days: DayFigures, available: int, end: date, policy: ReplenishmentPolicy) -> dict[str, Any]:
    """Reorder point = mean daily demand · L + z · sd · √L; suggested = what brings available up to the demand of
    L + cover days plus the safety stock (stock already on order is not known here)."""
    series = demand_series(days, end, policy.window_days)
    # Plain floats: `statistics` computes in exact fractions, too slow for a check on every stock level.
    mean = sum(series) / len(series)
    sigma = math.sqrt(sum((x - mean) ** 2 for x in series) / len(series)) if len(series) > 1 else 0.0
    lead = policy.lead_time(sku)
    safety = policy.z * sigma * math.sqrt(lead)
    reorder_point = mean * lead + safety
    order_up_to = mean * (lead + policy.cover_days) + safety
    return {
        "daily_demand_mean": round(mean, 4),
        "daily_demand_sd": round(sigma, 4),
        "lead_time_days": lead,
        "safety_stock": round(safety, 2),
        "reorder_point": round(reorder_point, 2),
        "available": available,
        "below_reorder_point": available < reorder_point,
        "days_of_supply": None if not mean else round(available / mean, 2),
        "suggested_quantity": max(0, math.ceil(order_up_to - available)) if available < reorder_point else 0,
    }
