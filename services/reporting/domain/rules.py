"""The rules a manager may set: when an order must ship, and how durations are measured.

Both are plain values handed in by the settings, so a figure can be recomputed under another rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache


@lru_cache(maxsize=4096)
def _day(text: str) -> date:
    return date.fromisoformat(text)


def iso(moment: datetime) -> str:
    """Fixed-width UTC, so that string order is time order and `[:10]` is the UTC day (years before 1000 too:
    `0999-…`). Every time the read model keeps, and every `as_of`, is written so."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class ShipByRule:
    """An order must be dispatched by the end (UTC) of its ship-by day: the placement day plus `days[method]`
    calendar days, one more when it was placed at or after `cutoff_hour` (UTC). Every shipment of the order has
    the order's ship-by day, backorders included: a backorder makes the customer wait, so it counts as late."""

    days: dict[str, int] = field(default_factory=lambda: {"standard": 1, "express": 0})
    default_days: int = 1
    cutoff_hour: int = 14

    def ship_by(self, placed_at: str, method: str) -> date:
        # The read model's times are fixed-width UTC (`iso`): the day and the hour are where they always are (a
        # full parse per shipment was a tenth of the fold).
        days = self.days.get(method, self.default_days) + (1 if int(placed_at[11:13]) >= self.cutoff_hour else 0)
        return _day(placed_at[:10]) + timedelta(days=days)

    def on_time(self, placed_at: str, method: str, dispatched_at: str) -> bool:
        return _day(dispatched_at[:10]) <= self.ship_by(placed_at, method)

    def describe(self) -> str:
        methods = ", ".join(f"{method} +{days} d" for method, days in sorted(self.days.items()))
        return (
            f"dispatched by the end of (placement day + {methods}; other methods +{self.default_days} d), "
            f"one day more when placed at or after {self.cutoff_hour:02d}:00 UTC"
        )


# Durations are counted in minutes and kept in classes (a histogram that adds across days and partitions):
# up to 1 h by 5 min, up to 1 day by 15 min, up to 7 days by 1 h, beyond by 6 h. A class is named by its upper
# bound, and a percentile is the upper bound of the class holding that rank: "p50 ≤ 2 h 15 min".
GRID = ((60, 5), (24 * 60, 15), (7 * 24 * 60, 60))
BEYOND = 360


def duration_class(minutes: float) -> int:
    """The upper bound, in minutes, of the class holding a duration (a negative one counts as 0)."""
    value = max(0.0, minutes)
    for limit, step in GRID:
        if value <= limit:
            return max(step, math.ceil(value / step) * step) if value > 0 else 0
    return math.ceil(value / BEYOND) * BEYOND


def minutes_between(start: str, end: str) -> float:
    begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
    finish = datetime.fromisoformat(end.replace("Z", "+00:00"))
    return (finish - begin).total_seconds() / 60


def percentile(histogram: dict[int, int], fraction: float) -> int | None:
    """Nearest rank: the class of the ceil(fraction · n)-th smallest duration; None without any."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)
