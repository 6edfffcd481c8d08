"""The manager's figures as the console shows them: tiles with a trend against the period just before, a range
read from the page's form, and the chart series from reporting's by-period answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

DEFAULT_DAYS = 30  # reporting's own default range: the tiles agree with `GET /kpis` without parameters
MAX_DAYS = 3 * 366
BY = ("day", "week", "month")


def _percent(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f} %"


def _money(value: Any) -> str:
    return "—" if value is None else f"{float(value):,.2f}"


def _plain(value: Any) -> str:
    return "—" if value is None else f"{int(value):,}" if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    family: str
    figure: str
    shown: Callable[[Any], str]
    # True when a rise is good news (colours the trend); rates move in percentage points.
    up_is_good: bool = True

    def number(self, kpis: dict[str, Any] | None) -> float | None:
        value = ((kpis or {}).get(self.family) or {}).get(self.figure)
        return None if value is None else float(value)

    def value(self, kpis: dict[str, Any]) -> str:
        return self.shown((kpis.get(self.family) or {}).get(self.figure))

    def trend(self, now: dict[str, Any], before: dict[str, Any] | None) -> dict[str, str] | None:
        """How the figure moved since the period before: the words, and whether that is good news."""
        current, previous = self.number(now), self.number(before)
        if current is None or previous is None:
            return None
        if self.shown is _percent:
            change = (current - previous) * 100
            words = f"{change:+.1f} pts"
        elif previous == 0:
            change = current
            words = "new" if current else "no change"
        else:
            change = (current - previous) / abs(previous) * 100
            words = f"{change:+.1f} %"
        if round(change, 1) == 0 and words != "new":
            return {"words": "no change", "mood": "flat", "arrow": "→"}
        good = (change > 0) == self.up_is_good
        return {"words": words, "mood": "good" if good else "bad", "arrow": "▲" if change > 0 else "▼"}


TILES = (
    Tile("orders", "Orders", "fulfillment", "orders", _plain),
    Tile("net_revenue", "Net revenue", "customers", "net_revenue", _money),
    Tile("aov", "Average order value", "customers", "aov", _money),
    Tile("fill_rate", "Fill rate", "fulfillment", "fill_rate", _percent),
    Tile("on_time_ship_rate", "Shipped on time", "fulfillment", "on_time_ship_rate", _percent),
    Tile("cancellation_rate", "Cancelled", "fulfillment", "cancellation_rate", _percent, up_is_good=False),
    Tile("return_rate", "Return rate", "returns", "return_rate", _percent, up_is_good=False),
    Tile("open_cases", "Open cases", "support", "open_cases", _plain, up_is_good=False),
)


class BadRange(ValueError):
    """A range the page cannot ask for; the message names the field."""


@dataclass(frozen=True)
class Range:
    first: date
    last: date
    by: str = "day"

    @classmethod
    def of(cls, start: str, end: str, by: str) -> Range:
        try:
            last = date.fromisoformat(end) if end else datetime.now(UTC).date()
        except ValueError:
            raise BadRange(f"To: “{end}” is not a day (YYYY-MM-DD).") from None
        try:
            first = date.fromisoformat(start) if start else last - timedelta(days=DEFAULT_DAYS - 1)
        except ValueError:
            raise BadRange(f"From: “{start}” is not a day (YYYY-MM-DD).") from None
        if first > last:
            raise BadRange("From: must not be after “To”.")
        if (last - first).days >= MAX_DAYS:
            raise BadRange(f"From: a range spans at most {MAX_DAYS} days.")
        if by not in BY:
            raise BadRange(f"By: one of {', '.join(BY)}.")
        return cls(first, last, by)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def before(self) -> Range:
        """The same number of days just before: what the trends compare with."""
        return Range(self.first - timedelta(days=self.days), self.first - timedelta(days=1), self.by)

    def params(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def series(periods: list[dict[str, Any]], figure: str) -> list[float | None]:
    return [None if p.get(figure) is None else float(p[figure]) for p in periods]


def charts(fulfillment: dict[str, Any], customers: dict[str, Any]) -> dict[str, Any]:
    """What static/manager.js draws: labels per period and a few series (JSON in the page; CSP allows no inline JS)."""
    periods = fulfillment.get("periods", [])
    money = customers.get("periods", [])
    return {
        "labels": [p["period"] for p in periods],
        "orders": series(periods, "orders"),
        "fill_rate": [None if v is None else round(v * 100, 1) for v in series(periods, "fill_rate")],
        "net_revenue": series(money, "net_revenue"),
    }
