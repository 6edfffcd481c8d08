"""Rebuild: replay the received-events log into a fresh generation, make it active, then catch up the tail.

Replays in memory (one pass over the log, the same pure `apply` as the live path) and writes the result in
bulk, which is what makes it fast on FerretDB: no per-event round trips. Events that arrive while it runs go to
the old generation through the live path; after the switch, the tail (numbers above what the replay saw) is
applied to the new one, twice, so that replicas still writing to the old generation for up to the generation
TTL are covered. Both paths are idempotent by event id. Once no replica can still be writing the old generation, its
collections (and those of any generation but the new one: earlier failed or interrupted rebuilds) are dropped.
One rebuild runs at a time across all replicas (projections/lease.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.customer_service.projections.events import iso
from services.customer_service.projections.history import History, apply, new_history
from services.customer_service.projections.lease import RebuildLease, RebuildRunning
from services.customer_service.projections.lookups import lookup_documents
from services.customer_service.projections.store import GENERATION_TTL_S, ProjectionStore, collection_name
from services.customer_service.projections.views import lookup_keys, summary_of

log = logging.getLogger(__name__)
REBUILDS = "projection_rebuilds"
WRITE_BATCH = 500
PROGRESS_EVERY = 1000


@dataclass
class RebuildProgress:
    rebuild_id: str
    generation: str = ""
    status: str = "running"
    processed: int = 0
    total: int = 0
    started: float = field(default_factory=time.monotonic)
    # Set when the replay is written: the tail catch-up waits on replicas, which is not rebuild speed.
    finished: float | None = None
    started_at: str = field(default_factory=lambda: iso(datetime.now(UTC)))
    finished_at: str | None = None
    error: str | None = None
    replaced: str | None = None
    requested_by: str | None = None

    @property
    def events_per_second(self) -> float:
        elapsed = (self.finished or time.monotonic()) - self.started
        return round(self.processed / elapsed, 1) if elapsed > 0 else 0.0

    def document(self) -> dict[str, Any]:
        return {
            "_id": self.rebuild_id,
            "rebuild_id": self.rebuild_id,
            "status": self.status,
            "processed": self.processed,
            "total": self.total,
            "events_per_second": self.events_per_second,
            "generation": self.generation,
            "replaced": self.replaced,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
            "requested_by": self.requested_by,
        }


class Rebuilder:
    def __init__(self, store: ProjectionStore, on_progress: Callable[[RebuildProgress], None] = lambda _: None) -> None:
        self.store = store
        self.on_progress = on_progress
        self.rebuilds = store.database[REBUILDS]
        self.lease = RebuildLease(store.meta)

    def new_progress(self, requested_by: str | None = None) -> RebuildProgress:
        return RebuildProgress(rebuild_id=f"RB-{uuid.uuid4().hex[:12]}", requested_by=requested_by)

    async def claim(self, progress: RebuildProgress) -> None:
        """Raises RebuildRunning while another rebuild (on any replica) holds the lease."""
        await self.lease.claim(progress.rebuild_id)

    async def run(self, progress: RebuildProgress, activate: bool = True, claimed: bool = False) -> RebuildProgress:
        if not claimed:
            await self.claim(progress)
        async with self.lease.held(progress.rebuild_id):
            try:
                await self._run(progress, activate)
                progress.status = "done"
            except Exception as error:
                log.exception("rebuild %s failed", progress.rebuild_id)
                progress.status, progress.error = "failed", f"{type(error).__name__}: {error}"
            progress.finished_at = iso(datetime.now(UTC))
            await self.report(progress)
        return progress

    async def _run(self, progress: RebuildProgress, activate: bool) -> None:
        progress.generation = await self.store.new_generation()
        await self.store.create_collections(progress.generation)
        progress.total = await self.store.log.total()
        await self.report(progress)
        histories: dict[str, History] = {}
        head = 0
        last_report = time.monotonic()
        async for event in self.store.log.scan():
            apply(histories.setdefault(event.order_id, new_history(event.order_id)), event)
            head = max(head, event.seq)
            progress.processed += 1
            progress.total = max(progress.total, progress.processed)
            if progress.processed % PROGRESS_EVERY == 0:
                self.on_progress(progress)
                if time.monotonic() - last_report > 0.5:
                    await self.report(progress)
                    last_report = time.monotonic()
        await self._write(progress.generation, list(histories.values()))
        progress.finished = time.monotonic()
        self.on_progress(progress)
        if not activate:
            return
        progress.replaced = await self.store.activate(progress.generation)
        for pause in (0.0, GENERATION_TTL_S + 1.0):
            await asyncio.sleep(pause)
            async for event in self.store.log.scan(after=head):
                # Already in the log: apply only (no second append).
                await self.store.record(event, progress.generation, append=False)
                head = max(head, event.seq)
        # Every replica has read the new generation by now (GENERATION_TTL_S): nothing writes the old ones.
        await self.store.drop_generations_except(progress.generation)

    async def _write(self, generation: str, histories: list[History]) -> None:
        placed = [history for history in histories if history["placed"] is not None]
        keys: dict[tuple[str, int], list[str]] = {}
        for history in placed:
            partition = self.store.search_keys.partition(history["order_id"])
            for key in lookup_keys(history):
                stored_key = self.store.lookup_id(key)
                if stored_key is not None:
                    keys.setdefault((stored_key, partition), []).append(history["order_id"])
        documents = {
            "histories": await self.store.sealed_many("histories", histories),
            "summaries": await self.store.sealed_many("summaries", [summary_of(history) for history in placed]),
            "lookups": [document for (key, part), ids in keys.items() for document in lookup_documents(key, part, ids)],
        }
        for kind, kind_documents in documents.items():
            by_collection: dict[str, list[dict[str, Any]]] = {}
            for document in kind_documents:
                name = collection_name(generation, kind, document["_id"], self.store.shards)
                by_collection.setdefault(name, []).append(document)
            await asyncio.gather(
                *(_insert_batches(self.store.database[name], docs) for name, docs in by_collection.items())
            )

    async def report(self, progress: RebuildProgress) -> None:
        await self.rebuilds.replace_one({"_id": progress.rebuild_id}, progress.document(), upsert=True)

    async def status(self, rebuild_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = await self.rebuilds.find_one({"_id": rebuild_id})
        return found


async def _insert_batches(collection: Any, documents: list[dict[str, Any]]) -> None:
    for start in range(0, len(documents), WRITE_BATCH):
        await collection.insert_many(documents[start : start + WRITE_BATCH], ordered=False)


class RebuildRunner:
    """Starts rebuilds in the background of the service process, one at a time, and answers for their status."""

    def __init__(self, rebuilder: Rebuilder) -> None:
        self.rebuilder = rebuilder
        self.current: RebuildProgress | None = None
        self._task: asyncio.Task[RebuildProgress] | None = None

    def running(self) -> RebuildProgress | None:
        return self.current if self._task is not None and not self._task.done() else None

    async def start(self, requested_by: str | None = None) -> RebuildProgress:
        """Raises RebuildRunning while another rebuild runs, here or on another replica."""
        running = self.running()
        if running is not None:
            raise RebuildRunning(f"rebuild {running.rebuild_id} is still running; one at a time")
        progress = self.rebuilder.new_progress(requested_by)
        await self.rebuilder.claim(progress)
        await self.rebuilder.report(progress)
        self.current = progress
        self._task = asyncio.create_task(
            self.rebuilder.run(progress, claimed=True), name=f"rebuild-{progress.rebuild_id}"
        )
        return progress

    async def status(self, rebuild_id: str) -> dict[str, Any] | None:
        if self.current is not None and self.current.rebuild_id == rebuild_id:
            return self.current.document()  # fresher than the stored copy
        return await self.rebuilder.status(rebuild_id)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
