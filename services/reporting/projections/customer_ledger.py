"""Per process, what the customer KPIs keep between queries: each day's counters split by customer, and the
lifetime totals of the last few (generation, as-of, last day) asked, moved rather than recomputed."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from services.reporting.domain.customers import CustomerDay, Totals

DAYS_CACHED = 4096
TOTALS_CACHED = 4

TotalsKey = tuple[str, str | None, str]  # generation, as_of, last day


class CustomerLedger:
    def __init__(self) -> None:
        # Per day's counters (the reader hands out the same object while the day's buckets stay as they are,
        # whichever query or as-of time asks), kept with its split so that the id stays theirs.
        self._days: OrderedDict[int, tuple[Mapping[str, int], CustomerDay]] = OrderedDict()
        self._totals: OrderedDict[TotalsKey, tuple[Totals, list[dict[str, Any]]]] = OrderedDict()

    def day(self, counters: Mapping[str, int]) -> CustomerDay:
        key = id(counters)
        cached = self._days.get(key)
        if cached is None or cached[0] is not counters:
            cached = (counters, CustomerDay.of(counters))
            self._days[key] = cached
        self._days.move_to_end(key)
        while len(self._days) > DAYS_CACHED:
            self._days.popitem(last=False)
        return cached[1]

    def top(self, key: TotalsKey, wanted: Mapping[str, CustomerDay]) -> list[dict[str, Any]]:
        """The top customers over the days `wanted`: from the kept totals that differ from them by the fewest
        customer-days (those of the same key are moved in place, others copied first), or from none."""
        cached = self._totals.get(key)
        if cached is not None and not cached[0].differing(wanted):
            self._totals.move_to_end(key)
            return cached[1]

        def cost(totals: Totals) -> int:
            return sum(len(source[day].orders) for day in totals.differing(wanted) for source in (totals.days, wanted)
                       if day in source)  # fmt: skip

        fresh = Totals()
        base = min((entry[0] for entry in self._totals.values()), key=cost, default=fresh)
        if cost(base) >= cost(fresh):
            base = fresh
        totals = base if cached is not None and base is cached[0] else base.copy()
        totals.move_to(wanted)
        found = totals.top()
        self._totals[key] = (totals, found)
        self._totals.move_to_end(key)
        while len(self._totals) > TOTALS_CACHED:
            self._totals.popitem(last=False)
        return found
