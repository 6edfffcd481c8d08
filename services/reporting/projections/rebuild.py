"""Rebuild from the topics: read every partition of the four topics from the beginning up to where they end at
the start, fold them with the same edge validation and the same `PartitionModel` as the live path, and write a
new generation in bulk. The live generation is not touched: `?generation=` reads the rebuilt one, so the two can
be compared (they must agree once the live model has consumed the same records). Topics keep 14 days by
default: a rebuild covers what they still hold (set a longer retention where history matters).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.reporting.application import STOCK_PREFIX, PartitionModel
from services.reporting.domain.facts import Observed
from services.reporting.domain.rules import ShipByRule
from services.reporting.domain.stock import ReplenishmentPolicy
from services.reporting.projections.blobs import pack
from services.reporting.projections.store import (
    REBUILDS,
    ReportingStore,
    bucket_document,
    bucket_id,
    members_document,
)
from shared.messaging.event_log import Edge
from shared.messaging.kafka_security import KafkaSecurity
from shared.messaging.ownership import partition_of

log = logging.getLogger(__name__)
WRITE_BATCH = 500
FOLD_BATCH = 500


class Rebuilder:
    def __init__(
        self,
        store: ReportingStore,
        edge: Edge,
        bootstrap_servers: str,
        rule: ShipByRule,
        policy: ReplenishmentPolicy,
        observe: Any,
        security: KafkaSecurity,
    ) -> None:
        self.store = store
        self.edge = edge
        self.bootstrap_servers = bootstrap_servers
        self.security = security
        self.rule = rule
        self.policy = policy
        self.observe = observe

    async def run(self, progress: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        try:
            generation = await self.store.new_generation()
            progress["generation"] = generation
            await self.store.create_collections(generation)
            await self._report(progress)
            models = {p: PartitionModel(p, self.rule, self.policy) for p in range(self.store.partitions)}
            read: dict[int, list[Observed]] = {p: [] for p in models}
            await self._read_topics(read, progress)
            for partition, events in read.items():
                # In event time: each order's events then come in order, and each adds one layer (as live).
                events.sort(key=lambda e: e.occurred_at)
                for start in range(0, len(events), FOLD_BATCH):
                    models[partition].fold(events[start : start + FOLD_BATCH])
            await self._write(generation, models)
            progress["status"] = "done"
        except Exception as error:
            log.exception("rebuild %s failed", progress["rebuild_id"])
            progress.update(status="failed", error=f"{type(error).__name__}: {error}")
        progress["seconds"] = round(time.monotonic() - started, 3)
        progress["finished_at"] = datetime.now(UTC).isoformat()
        await self._report(progress)
        return progress

    async def _read_topics(self, read: dict[int, list[Observed]], progress: dict[str, Any]) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **self.security.client_kwargs(),
        )
        await consumer.start()
        try:
            # Every topic has the service's partition count (the live path's logs depend on it too).
            partitions = [TopicPartition(t, p) for t in self.edge.topics() for p in range(self.store.partitions)]
            ends = await consumer.end_offsets(partitions)
            pending = {tp for tp in partitions if ends[tp] > 0}
            if pending:
                consumer.assign(list(pending))
                await consumer.seek_to_beginning(*pending)
            while pending:
                fetched = await consumer.getmany(*pending, timeout_ms=1000, max_records=5000)
                for tp, records in fetched.items():
                    self._observe(read, tp, [r for r in records if r.offset < ends[tp]])
                    progress["records"] = progress.get("records", 0) + len(records)
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
        finally:
            await consumer.stop()

    def _observe(self, read: dict[int, list[Observed]], tp: TopicPartition, records: Sequence[Any]) -> None:
        topic = self.edge.topic(tp.topic)
        count = len(read)
        # A record on the wrong partition for its key was forwarded live to the right one: read it there only.
        kept = [
            r for r in records if topic.key != "order_id" or not r.key or partition_of(r.key, count) == tp.partition
        ]
        readable, _ = self.edge.read_batch(kept)
        read[tp.partition % count].extend(self.observe(topic.owner, message) for _, message, _ in readable)

    async def _write(self, generation: str, models: dict[int, PartitionModel]) -> None:
        await write_generation(self.store, generation, models)

    async def _report(self, progress: dict[str, Any]) -> None:
        await self.store.database[REBUILDS].replace_one({"_id": progress["rebuild_id"]}, dict(progress), upsert=True)


async def write_generation(store: ReportingStore, generation: str, models: dict[int, PartitionModel]) -> None:
    """Folded partitions into a new generation, in bulk: facts, buckets, rows, stock levels, states and heads."""
    db = store.database
    for partition, model in models.items():
        facts = {**model.orders, **{STOCK_PREFIX + k: v for k, v in model.stock.items()}}
        await store.write_snapshot(generation, partition, facts, 1)
        version = 1
        model.version = model.state_version = version
        days = sorted(model.buckets.keys() | model.members.keys())
        model.day_versions = dict.fromkeys(days, version)
        rows = {day: model.rows(day) for day in days}
        buckets = [bucket_document(day, partition, version, model.buckets.get(day, {}), rows[day]) for day in days]
        members = [members_document(day, partition, version, rows[day]) for day in days]
        levels = [{"_id": bucket_id(day, partition), "blob": pack(model.levels(day))} for day in model.level_days()]
        for kind, documents in (("buckets", buckets), ("members", members), ("levels", levels)):
            if documents:
                await db[f"{generation}_{kind}"].insert_many(documents, ordered=False)
        await store.save_head(generation, partition, version, model.day_versions, model.state(), version)


class RebuildRunner:
    """One rebuild at a time in the background of this process; its progress is stored, so any replica answers."""

    def __init__(self, rebuilder: Rebuilder) -> None:
        self.rebuilder = rebuilder
        self.current: dict[str, Any] | None = None
        self._task: asyncio.Task[dict[str, Any]] | None = None

    def running(self) -> dict[str, Any] | None:
        return self.current if self._task is not None and not self._task.done() else None

    async def start(self) -> dict[str, Any]:
        progress: dict[str, Any] = {
            "_id": f"RB-{uuid.uuid4().hex[:12]}",
            "status": "running",
            "records": 0,
            "started_at": datetime.now(UTC).isoformat(),
        }
        progress["rebuild_id"] = progress["_id"]
        await self.rebuilder._report(progress)
        self.current = progress
        self._task = asyncio.create_task(self.rebuilder.run(progress), name=f"rebuild-{progress['rebuild_id']}")
        return {"rebuild_id": progress["rebuild_id"], "status": "running"}

    async def status(self, rebuild_id: str) -> dict[str, Any] | None:
        if self.current is not None and self.current["rebuild_id"] == rebuild_id:
            found: dict[str, Any] | None = dict(self.current)
        else:
            found = await self.rebuilder.store.database[REBUILDS].find_one({"_id": rebuild_id})
        if found is not None:
            found.pop("_id", None)
        return found

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
