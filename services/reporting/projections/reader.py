"""Reading the read model for queries, from any replica: the sum over partitions of the day buckets.

Each query reads the partitions' heads (a version per day), then only the buckets whose version this process
has not cached yet: past days rarely change, so a query over months costs a few point reads once warm.

As of an instant `as_of`: a day's bucket is the answer when nothing on it changed after `as_of` (its `last`),
nothing when everything did (its `first`), and otherwise the sum of its rows' layers up to `as_of` — only the days
whose orders were still moving at `as_of` (an order's life, plus the day of a late return) read their rows.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from services.reporting.projections.store import CUSTOMER_PREFIX, Bucket, ReportingStore, Rows

# Rows documents kept per process (a day and partition each): the days read as of a time, and drill-downs.
ROWS_CACHED = 512
AS_OF_CACHED = 4096
LEVELS_CACHED = 256


class ReadModelReader:
    def __init__(self, store: ReportingStore) -> None:
        self.store = store
        self._buckets: dict[tuple[str, int, str], Bucket] = {}
        self._states: dict[tuple[str, int], tuple[int, dict[str, Any]]] = {}
        # A day's counters added over partitions (read-only for callers), while no bucket of it changed.
        # Plain dicts of numbers, which the garbage collector does not track (a Counter it does, and walks every
        # name of it in each full collection: a replica keeps hundreds of days of thousands of names).
        self._merged: dict[tuple[str, str, bool, str | None], tuple[tuple[tuple[int, int], ...], dict[str, int]]] = {}
        self._signatures: dict[tuple[str, str], tuple[tuple[int, int], ...]] = {}
        self._rows: OrderedDict[tuple[str, int, str], tuple[int, Rows]] = OrderedDict()
        self._as_of: OrderedDict[tuple[str, int, str, int, str, bool], dict[str, int]] = OrderedDict()
        self._levels: OrderedDict[tuple[str, int, str], tuple[int, dict[str, list[list[Any]]]]] = OrderedDict()

    async def generation(self, requested: str | None = None) -> str:
        return requested or await self.store.active_generation()

    async def days(
        self, generation: str, start: str, end: str, customers: bool = False, as_of: str | None = None
    ) -> dict[str, dict[str, int]]:
        """Per UTC day from `start` to `end` (inclusive, `YYYY-MM-DD`), the counters of every partition added;
        the per-customer ones only when asked for; as known at `as_of` (a fixed-width UTC time) when given."""
        heads = await self.store.heads(generation)
        wanted = [
            (partition, day, version)
            for partition, head in heads.items()
            for day, version in head.days.items()
            if start <= day <= end
        ]
        stale = [
            (partition, day)
            for partition, day, version in wanted
            if (generation, partition, day) not in self._buckets
            or self._buckets[(generation, partition, day)].version < version
        ]
        fetched = await asyncio.gather(*(self.store.bucket(generation, day, p) for p, day in stale))
        for (partition, day), bucket in zip(stale, fetched, strict=True):
            self._buckets[(generation, partition, day)] = bucket
        by_day: dict[str, list[tuple[int, int]]] = {}
        for partition, day, _ in wanted:
            by_day.setdefault(day, []).append((partition, self._buckets[(generation, partition, day)].version))
        moving = [
            (partition, day)
            for partition, day, _ in wanted
            if as_of is not None and self._moving(self._buckets[(generation, partition, day)], as_of)
        ]
        await asyncio.gather(*(self._as_of_counters(generation, p, day, as_of or "", customers) for p, day in moving))
        result: dict[str, dict[str, int]] = {}
        for day, versions in by_day.items():
            signature = tuple(sorted(versions))
            self._signatures[(generation, day)] = signature
            # A day on which nothing changed after `as_of` is as known now: the same counters (the same object,
            # which is how callers know a day they derived from before), not a copy per as-of time.
            settled = as_of is None or all(self._buckets[(generation, p, day)].last <= as_of for p, _ in signature)
            key = (generation, day, customers, None if settled else as_of)
            cached = self._merged.get(key)
            if cached is None or cached[0] != signature:
                counters: dict[str, int] = {}
                for partition, _ in signature:
                    found = await self._counters(generation, partition, day, customers, key[3])
                    if not counters:
                        counters.update(found)
                        continue
                    for name, value in found.items():
                        counters[name] = counters.get(name, 0) + value
                cached = (signature, counters)
                self._merged[key] = cached
            result[day] = cached[1]
        if as_of is not None and len(self._merged) > AS_OF_CACHED:
            self._merged = {k: v for k, v in self._merged.items() if k[3] is None}
        return result

    @staticmethod
    def _moving(bucket: Bucket, as_of: str) -> bool:
        return bucket.first <= as_of < bucket.last

    async def _counters(
        self, generation: str, partition: int, day: str, customers: bool, as_of: str | None
    ) -> dict[str, int]:
        bucket = self._buckets[(generation, partition, day)]
        if as_of is not None and bucket.first > as_of:
            return {}
        if as_of is not None and self._moving(bucket, as_of):
            return await self._as_of_counters(generation, partition, day, as_of, customers)
        return {**bucket.general, **bucket.customers} if customers else bucket.general

    async def _as_of_counters(
        self, generation: str, partition: int, day: str, as_of: str, customers: bool
    ) -> dict[str, int]:
        version = self._buckets[(generation, partition, day)].version
        key = (generation, partition, day, version, as_of, customers)
        found = self._as_of.get(key)
        if found is None:
            summed: dict[str, int] = {}
            for layers in (await self.rows(generation, partition, day, version)).values():
                for at, change in layers:
                    if at > as_of:
                        break
                    for name, amount in change.items():
                        summed[name] = summed.get(name, 0) + amount
            # Layers that cancel out (an order placed, then cancelled) leave zeros: not a counter, as in a bucket.
            found = {k: v for k, v in summed.items() if v and (customers or not k.startswith(CUSTOMER_PREFIX))}
            self._as_of[key] = found
            while len(self._as_of) > AS_OF_CACHED:
                self._as_of.popitem(last=False)
        return found

    def signature(self, generation: str, day: str) -> tuple[tuple[int, int], ...]:
        """The bucket versions a day's figures were last read at: equal signatures, equal figures."""
        return self._signatures.get((generation, day), ())

    async def states(self, generation: str) -> list[dict[str, Any]]:
        heads = await self.store.heads(generation)
        stale = [p for p, h in heads.items() if self._states.get((generation, p), (-1, {}))[0] < h.state_version]
        fetched = await asyncio.gather(*(self.store.state(generation, p) for p in stale))
        for partition, state in zip(stale, fetched, strict=True):
            self._states[(generation, partition)] = state
        return [self._states[(generation, p)][1] for p in heads if (generation, p) in self._states]

    async def rows(self, generation: str, partition: int, day: str, version: int | None = None) -> Rows:
        """What each order contributed to a day of a partition, as its layers (at least at `version`)."""
        key = (generation, partition, day)
        cached = self._rows.get(key)
        if cached is None or (version is not None and cached[0] < version) or version is None:
            cached = await self.store.rows(generation, day, partition)
            self._rows[key] = cached
        self._rows.move_to_end(key)
        while len(self._rows) > ROWS_CACHED:
            self._rows.popitem(last=False)
        return cached[1]

    async def day_rows(self, generation: str, day: str) -> dict[int, Rows]:
        """A day's rows in every partition, at the versions its head announces."""
        heads = await self.store.heads(generation)
        versions = {p: head.days[day] for p, head in heads.items() if day in head.days}
        found = await asyncio.gather(*(self.rows(generation, p, day, v) for p, v in versions.items()))
        return dict(zip(versions, found, strict=True))

    async def levels(self, generation: str, day: str) -> dict[str, list[list[Any]]]:
        """Every stock item's levels on a day (and the one before it), over all partitions. A partition's levels
        change only with its state (a stock level folded), whose version its head announces once they are stored:
        kept while that version holds."""
        heads = await self.store.heads(generation)
        stale = [
            p for p, head in heads.items() if self._levels.get((generation, p, day), (-1, {}))[0] != head.state_version
        ]
        fetched = await asyncio.gather(*(self.store.levels(generation, day, p) for p in stale))
        for partition, levels in zip(stale, fetched, strict=True):
            self._levels[(generation, partition, day)] = (heads[partition].state_version, levels)
        found: dict[str, list[list[Any]]] = {}
        for partition in heads:
            key = (generation, partition, day)
            self._levels.move_to_end(key)
            found.update(self._levels[key][1])
        while len(self._levels) > LEVELS_CACHED:
            self._levels.popitem(last=False)
        return found
