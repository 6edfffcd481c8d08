"""The owner of one partition's read model: loads it on assignment, folds each batch, writes what changed.

Write order per batch: the facts (one entry appended to the partition's fact log), then the day buckets and
members, then the state and the head. A crash in between leaves facts ahead of buckets; the next owner
recomputes every bucket from the facts on assignment and rewrites the ones that differ, so the damage never
outlives an ownership change. ReorderPointCrossed events are published before anything is stored: a crash
re-runs the batch and re-sends them under the same event ids.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.reporting.application import STOCK_PREFIX, PartitionModel, ReorderPointCrossed
from services.reporting.domain.facts import Observed
from services.reporting.domain.rules import ShipByRule
from services.reporting.domain.stock import ReplenishmentPolicy
from services.reporting.projections.heap import settle_loaded_state
from services.reporting.projections.store import ReportingStore

log = logging.getLogger(__name__)
# Batches appended before a snapshot: while busy (bounds a new owner's read), and once idle.
SNAPSHOT_AFTER = 300
SNAPSHOT_WHEN_IDLE_AFTER = 20

Publish = Callable[[list[ReorderPointCrossed]], Awaitable[None]]


class WriterCollision(OSError):
    """A write collided with another writer of the partition. An OSError, so that the consumer runtime retries the
    batch (a duplicate-key error would otherwise count as a fault of the records and dead-letter them)."""


class PartitionProjection:
    def __init__(
        self,
        store: ReportingStore,
        partition: int,
        rule: ShipByRule,
        policy: ReplenishmentPolicy,
        publish: Publish,
        generation: str | None = None,
    ) -> None:
        self.store = store
        self.partition = partition
        self.rule = rule
        self.policy = policy
        self.publish = publish
        self.fixed_generation = generation
        self.generation = generation or ""
        self.model: PartitionModel | None = None
        # The next entry of the partition's fact log, and how many batches were appended since the last snapshot.
        self.next_entry = 1
        self.appended = 0

    # Duties of the log's owner (ReadModelWorker's `also`).

    async def assigned(self) -> None:
        self.generation = self.fixed_generation or await self.store.active_generation()
        facts, last_entry = await self.store.load_facts(self.generation, self.partition)
        self.next_entry, self.appended = last_entry + 1, 0
        head = await self.store.head(self.generation, self.partition)
        stored = await self.store.stored_buckets(self.generation, self.partition)
        version = max([head.version if head else 0, *(v for v, _ in stored.values())]) + 1
        model = PartitionModel.from_facts(self.partition, facts, self.rule, self.policy, version)
        model.day_versions = dict(head.days) if head else {}
        repaired = {
            day
            for day in model.buckets.keys() | stored.keys()
            if model.buckets.get(day, {}) != stored.get(day, (0, {}))[1]
        }
        for day in repaired:
            model.day_versions[day] = version
        await self.store.save_days(
            self.generation,
            self.partition,
            {day: (version, model.buckets.get(day, {}), model.rows(day)) for day in repaired},
            # Every day's stock levels: a crash after the facts were stored may have left the newest ones unwritten.
            {day: model.levels(day) for day in model.level_days()},
        )
        model.state_version = version
        await self.store.save_head(self.generation, self.partition, version, model.day_versions, model.state(), version)
        self.model = model
        settle_loaded_state()
        if repaired:
            log.info("reporting partition %d: rewrote %d day buckets from the facts", self.partition, len(repaired))

    async def revoked(self) -> None:
        self.model = None

    async def idle(self) -> None:
        if self.model is not None and self.appended >= SNAPSHOT_WHEN_IDLE_AFTER:
            await self._snapshot(self.model)

    async def _snapshot(self, model: PartitionModel) -> None:
        """Bound what a new owner reads: every fact once, instead of every batch since the last snapshot."""
        facts = {**model.orders, **{STOCK_PREFIX + k: v for k, v in model.stock.items()}}
        self.next_entry = await self.store.write_snapshot(self.generation, self.partition, facts, self.next_entry)
        self.appended = 0

    # The batch.

    async def apply(self, events: list[Observed]) -> None:
        if self.model is None:
            await self.assigned()
        try:
            await self._apply(events)
        except DuplicateKeyError as error:
            # Another process wrote this partition (an owner that has not let go yet, or two upserts of one day):
            # not the message's fault, so a retry — from the store, which holds what the other one wrote.
            self.model = None
            raise WriterCollision(f"partition {self.partition}: {error}") from error
        except BaseException:
            # The model already holds what could not be stored: the retry must start from the store.
            self.model = None
            raise

    async def _apply(self, events: list[Observed]) -> None:
        model = self.model
        assert model is not None
        changes = model.fold(events)
        if not changes:
            return
        if changes.crossings:
            await self.publish(changes.crossings)
        await self.store.append_facts(self.generation, self.partition, self.next_entry, changes.facts)
        self.next_entry += 1
        self.appended += 1
        await self.store.save_days(
            self.generation,
            self.partition,
            {
                day: (model.day_versions.get(day, model.version), model.buckets.get(day, {}), model.rows(day))
                for day in changes.days
            },
            {day: model.levels(day) for day in changes.level_days},
        )
        if changes.state_changed:
            model.state_version = model.version
        state = model.state() if changes.state_changed else None
        await self.store.save_head(
            self.generation, self.partition, model.version, model.day_versions, state, model.state_version
        )
        if self.appended >= SNAPSHOT_AFTER:
            await self._snapshot(model)

    def snapshot(self) -> dict[str, Any]:
        return {} if self.model is None else {"version": self.model.version, "orders": len(self.model.orders)}
