"""Adding up days of counters for a period, fast: a KPI query's main cost was adding a month of day buckets name
by name (`Counter.update` is a Python loop: ~60,000 names a month at 100,000 orders) and indexing the sum again
for each of a by-day query's periods.

Each day's counters become, once per version of that day (the reader hands out the same object while the day's
buckets stay as they are, whichever query or as-of time asks: days are known by that object), a vector
over one index of every name seen; a period adds its days' vectors column by column (`map(sum, zip_longest(…))`,
in C) and names the non-zero sums. A period of one day is the day's own `Tally`, kept with it: by-day periods
index nothing again; a longer one's Tally is kept while none of its days changed.

Exactly the old sum: counters are never zero in a bucket, and a sum of counters none of which is negative is
zero only where the name is on none of the days; a day with a negative counter (a refund above its order's
total) is added name by name, as before.
"""

from __future__ import annotations

from array import array
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, zip_longest

from services.reporting.domain.kpis import Tally

DAYS_CACHED = 2048
PERIODS_CACHED = 128
# Names are never taken out of the index (a vector's columns are positions in it); one that outgrew this (names of
# open cases come and go) is started afresh, and every day's vector with it.
MOST_NAMES = 50_000


@dataclass(slots=True)
class _Day:
    counters: Mapping[str, int]  # kept, so that the id it is known by stays its own
    vector: array[int] | None  # None with a negative counter
    tally: Tally | None = None  # made when a one-day period asks for it


class DaySums:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.position: dict[str, int] = {}
        self._days: OrderedDict[int, _Day] = OrderedDict()
        # Per period (its days' counters): their Tally. A by-week query's past weeks, or a month that ends before
        # today, stay as they are while only today's bucket changes.
        self._periods: OrderedDict[tuple[int, ...], tuple[list[Mapping[str, int]], Tally]] = OrderedDict()

    def _day(self, counters: Mapping[str, int]) -> _Day:
        key = id(counters)
        cached = self._days.get(key)
        if cached is None or cached.counters is not counters:
            cached = _Day(counters, self._vector(counters))
            self._days[key] = cached
        self._days.move_to_end(key)
        while len(self._days) > DAYS_CACHED:
            self._days.popitem(last=False)
        return cached

    def _vector(self, counters: Mapping[str, int]) -> array[int] | None:
        if any(value < 0 for value in counters.values()):
            return None
        names, position = self.names, self.position
        for name in counters:
            if name not in position:
                position[name] = len(names)
                names.append(name)
        vector = [0] * len(names)
        for name, value in counters.items():
            vector[position[name]] = value
        try:
            # An array holds no objects, so the garbage collector neither tracks nor walks it.
            return array("q", vector)
        except OverflowError:  # a counter beyond 64 bits: added name by name
            return None

    def total(self, days: Sequence[Mapping[str, int]]) -> Tally:
        """The sum of the days' counters, indexed for the formulas (read-only: it may be shared)."""
        if len(self.names) > MOST_NAMES:  # before any vector of this sum is taken: they all share one index
            self.names, self.position, self._days, self._periods = [], {}, OrderedDict(), OrderedDict()
        found = [self._day(counters) for counters in days]
        if len(found) == 1:
            if found[0].tally is None:
                found[0].tally = Tally(found[0].counters)
            return found[0].tally
        key = tuple(id(counters) for counters in days)
        kept = self._periods.get(key)
        if kept is not None and all(a is b for a, b in zip(kept[0], days, strict=True)):
            self._periods.move_to_end(key)
            return kept[1]
        tally = self._added(found)
        self._periods[key] = (list(days), tally)
        while len(self._periods) > PERIODS_CACHED:
            self._periods.popitem(last=False)
        return tally

    def _added(self, found: list[_Day]) -> Tally:
        vectors = [day.vector for day in found if day.vector is not None]
        if len(vectors) < len(found):
            summed: Counter[str] = Counter()
            for day in found:
                summed.update(day.counters)
            return Tally(summed)
        sums = list(map(sum, zip_longest(*vectors, fillvalue=0)))
        return Tally(dict(compress(zip(self.names[: len(sums)], sums, strict=True), sums)))
