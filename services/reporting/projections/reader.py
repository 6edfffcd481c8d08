"""Reading the read model for queries, from any replica: the sum over partitions of the day buckets.

Each query reads the partitions' heads (a version per day), then only the buckets whose version this process
has not cached yet: past days rarely change, so a query over months costs a few point reads once warm.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from services.reporting.projections.store import Bucket, ReportingStore


class ReadModelReader:
    def __init__(self, store: ReportingStore) -> None:
        self.store = store
        self._buckets: dict[tuple[str, int, str], Bucket] = {}
        self._states: dict[tuple[str, int], tuple[int, dict[str, Any]]] = {}
        # A day's counters added over partitions (read-only for callers), while no bucket of it changed.
        self._merged: dict[tuple[str, str, bool], tuple[tuple[tuple[int, int], ...], Counter[str]]] = {}
        self._signatures: dict[tuple[str, str], tuple[tuple[int, int], ...]] = {}

    async def generation(self, requested: str | None = None) -> str:
        return requested or await self.store.active_generation()

    async def days(self, generation: str, start: str, end: str, customers: bool = False) -> dict[str, Counter[str]]:
        """Per UTC day from `start` to `end` (inclusive, `YYYY-MM-DD`), the counters of every partition added;
        the per-customer ones only when asked for."""
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
        result: dict[str, Counter[str]] = {}
        for day, versions in by_day.items():
            signature = tuple(sorted(versions))
            self._signatures[(generation, day)] = signature
            cached = self._merged.get((generation, day, customers))
            if cached is None or cached[0] != signature:
                counters: Counter[str] = Counter()
                for partition, _ in signature:
                    bucket = self._buckets[(generation, partition, day)]
                    counters.update(bucket.general)
                    if customers:
                        counters.update(bucket.customers)
                cached = (signature, counters)
                self._merged[(generation, day, customers)] = cached
            result[day] = cached[1]
        return result

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

    async def members(self, generation: str, days: list[str]) -> dict[int, list[str]]:
        heads = await self.store.heads(generation)
        found = await asyncio.gather(*(self.store.members(generation, days, p) for p in heads))
        return {p: sorted(set(ids)) for p, ids in zip(heads, found, strict=True)}

    async def facts(self, generation: str, partition: int) -> dict[str, Any]:
        """A partition's facts, for drill-downs: read whole from its log (seconds at a hundred thousand orders)."""
        facts, _ = await self.store.load_facts(generation, partition)
        return facts
