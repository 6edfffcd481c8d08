"""Support targets: how fast a case of each priority gets its first answer and its resolution, and the clocks
that measure it.

A clock runs from the case's opening until it stops (the first agent response, or the resolution) and is paused
while the case waits on the customer: time the customer takes to answer is not support's time. A target is
breached at the moment its clock's running time reaches the target; a clock stopped before that met it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

PRIORITIES = ("urgent", "high", "normal", "low")
FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
TARGET_KINDS = (FIRST_RESPONSE, RESOLUTION)

# What a case opened by an agent gets when the agent names no priority.
PRIORITY_BY_CATEGORY = {
    "damaged_item": "high",
    "wrong_item": "high",
    "late_delivery": "normal",
    "complaint": "normal",
    "other": "low",
}


class UnknownPriority(ValueError):
    """Only the four priorities have targets."""


@dataclass(frozen=True)
class Targets:
    first_response: timedelta
    resolution: timedelta

    def of(self, kind: str) -> timedelta:
        return self.first_response if kind == FIRST_RESPONSE else self.resolution


DEFAULT_TARGETS: dict[str, Targets] = {
    "urgent": Targets(timedelta(hours=1), timedelta(hours=8)),
    "high": Targets(timedelta(hours=4), timedelta(hours=24)),
    "normal": Targets(timedelta(hours=8), timedelta(hours=72)),
    "low": Targets(timedelta(hours=24), timedelta(days=7)),
}


def check_priority(priority: str) -> str:
    if priority not in PRIORITIES:
        raise UnknownPriority(f"unknown priority {priority!r}; expected one of {', '.join(PRIORITIES)}")
    return priority


def default_priority(category: str) -> str:
    return PRIORITY_BY_CATEGORY.get(category, "normal")


def complaint_priority(rating: int, order_value: float | None, high_value: float) -> str | None:
    """The priority of the complaint a review opens, or None for a review that opens none (3 stars or more).

    1 star is high, 2 stars normal; an order worth `high_value` or more (in its own currency) is one step more
    urgent. An order support does not know yet counts as not valuable.
    """
    if rating > 2:
        return None
    priority = "high" if rating == 1 else "normal"
    if order_value is not None and order_value >= high_value:
        priority = PRIORITIES[PRIORITIES.index(priority) - 1]
    return priority


Pause = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class Clock:
    """One target's clock: started at the opening, stopped (or not yet), paused during `pauses`."""

    kind: str
    target: timedelta
    started: datetime
    stopped: datetime | None
    pauses: Sequence[Pause] = ()

    def _running(self, until: datetime) -> list[tuple[datetime, datetime]]:
        """The intervals the clock ran in, up to `until` (or its stop, if earlier)."""
        end = min(until, self.stopped) if self.stopped is not None else until
        intervals, cursor = [], self.started
        for paused, resumed in sorted(self.pauses):
            if paused >= end:
                break
            if paused > cursor:
                intervals.append((cursor, paused))
            cursor = max(cursor, resumed if resumed is not None else end)
        if cursor < end:
            intervals.append((cursor, end))
        return intervals

    def elapsed(self, now: datetime) -> timedelta:
        return sum((b - a for a, b in self._running(now)), timedelta())

    def paused(self, now: datetime) -> bool:
        if self.stopped is not None:
            return False
        return any(p <= now and (r is None or r > now) for p, r in self.pauses)

    def breached_at(self, now: datetime) -> datetime | None:
        """When the running time reached the target, if it has by `now` (and before the clock stopped)."""
        left = self.target
        for start, end in self._running(now):
            if end - start >= left:
                moment = start + left
                # Stopped exactly on the target is met: only time beyond it breaches.
                return moment if self.stopped is None or moment < self.stopped else None
            left -= end - start
        return None

    def due_at(self, now: datetime) -> datetime | None:
        """When it will be breached if nothing happens; None once stopped, while paused, or once breached."""
        if self.stopped is not None or self.paused(now) or self.breached_at(now) is not None:
            return None
        return now + (self.target - self.elapsed(now))

    def state(self, now: datetime, near: float) -> str:
        """met | breached | paused | due_soon (less than `near` of the target left) | running."""
        if self.breached_at(now) is not None:
            return "breached"
        if self.stopped is not None:
            return "met"
        if self.paused(now):
            return "paused"
        left = self.target - self.elapsed(now)
        return "due_soon" if left <= self.target * near else "running"
