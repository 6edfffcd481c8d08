"""Date ranges and how they split into days, ISO weeks (Monday first) or calendar months (UTC days)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

By = Literal["day", "week", "month"]


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date

    def days(self) -> list[str]:
        return [(self.start + timedelta(days=n)).isoformat() for n in range((self.end - self.start).days + 1)]


def split(start: date, end: date, by: By) -> list[Period]:
    periods: list[Period] = []
    current = start
    while current <= end:
        if by == "day":
            label, last = current.isoformat(), current
        elif by == "week":
            year, week, _ = current.isocalendar()
            label, last = f"{year}-W{week:02d}", current + timedelta(days=6 - current.weekday())
        else:
            label = f"{current.year}-{current.month:02d}"
            following = date(current.year + current.month // 12, current.month % 12 + 1, 1)
            last = following - timedelta(days=1)
        last = min(last, end)
        periods.append(Period(label, current, last))
        current = last + timedelta(days=1)
    return periods


def previous(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before [start, end]."""
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)
