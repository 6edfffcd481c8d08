"""Local projections: a service's read models, fed from its OWN event log (not from Kafka).

A `ProjectionRunner` tails the application's notification log in order, hands each batch of domain events to
its projection, which writes the read model, and saves how far it got (at most every `SAVE_EVERY_S`, and when
idle or stopped). What this process stores it is handed from memory as it is stored (`stored`), so it reads the
log only for what other processes wrote (an HTTP command served by another replica) and to catch up after a
start. A crash between applying and saving re-applies the tail, so the projection must be idempotent (e.g.
versioned documents that skip what is already there).

The event log, not the broker, is the source: the read model never waits for the outbox relay, and a
rebuild is "drop the collections, reset the position".
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Recording
from pymongo.asynchronous.collection import AsyncCollection

from shared.log_follower import LogFollower
from shared.messaging.consumer import linger_wait


class Projection(Protocol):
    async def apply_batch(self, events: Sequence[Any], replaying: bool) -> None:
        """Fold a batch of domain events, in log order, into the read model (idempotently). `replaying`: the
        batch may hold events already applied (it reaches into what was stored before the runner started)."""

    def reset(self) -> None:
        """The runner reads again from its saved position: drop whatever was kept from before."""


SAVE_EVERY_S = 2.0


class ProjectionRunner(LogFollower):
    """Also an owner's duty (`assigned`/`idle`/`revoked`): run by whichever process owns the log, so that a
    projection has one writer and may keep what it wrote in memory."""

    kind = "projection"

    def __init__(
        self,
        name: str,
        app: Application[Any],
        projection: Projection,
        positions: AsyncCollection[dict[str, Any]],
        batch_size: int = 500,
        idle_poll_s: float = 0.5,
        linger_s: float = 0.0,
    ) -> None:
        super().__init__(name, app, positions, batch_size, idle_poll_s, save_every_s=SAVE_EVERY_S)
        self.projection = projection
        # A batch at most this often, as the consumer's logs do: what this process stores meanwhile joins it (a
        # read model's writes are per batch); a store after a quiet stretch, or a full batch, goes at once.
        self.linger_s = linger_s
        self._batch_at = -math.inf
        self.applied = 0
        # Batches this process stored, as (first notification id, last, events), in log order.
        self._stored: deque[tuple[int, int, list[Any]]] = deque()
        self._from_memory = False
        # Everything stored before the runner (re)started may have been applied already: the position is saved
        # after a batch, and a crash can come in between. Nothing stored after that can have been.
        self._replay_upto = 0

    def stored(self, recordings: Sequence[Recording[UUID]]) -> None:
        """The application stored these (called in the storing thread): fold them without reading them back."""
        if not recordings or self._loop is None or self._loop.is_closed():
            return
        batch = (recordings[0].notification.id, recordings[-1].notification.id, [r.domain_event for r in recordings])
        self._loop.call_soon_threadsafe(self._take, batch)

    def _take(self, batch: tuple[int, int, list[Any]]) -> None:
        self._stored.append(batch)
        self._wakeup.set()

    async def next_batch(self) -> tuple[list[Any], int] | None:
        while self._stored and self._stored[0][1] <= self.position:
            self._stored.popleft()  # read from the log already
        if self._stored and self._stored[0][0] == self.position + 1:
            queued = sum(len(stored[2]) for stored in self._stored)
            wait = linger_wait(self._batch_at, time.monotonic(), self.linger_s, queued, self.batch_size)
            if wait > 0:
                await asyncio.sleep(wait)
            self._batch_at = time.monotonic()
            _, last_id, events = self._stored.popleft()
            events = list(events)
            # The batches stored since, each following the last, join this one (up to a batch's worth).
            while self._stored and self._stored[0][0] == last_id + 1 and len(events) < self.batch_size:
                _, last_id, more = self._stored.popleft()
                events.extend(more)
            self._from_memory = True
            return events, last_id
        if not self._stored and self._from_memory:
            # Caught up with what this process stored: look at the log again at the next idle poll (another
            # process's commits), not after every batch.
            self._from_memory = False
            return None
        # A gap (another process's commit, or what was stored before this runner started): read the log. The
        # batches held after the gap are used once the log has been read up to them.
        self._from_memory = False
        return await super().next_batch()

    async def handle(self, events: list[Any], last_id: int) -> None:
        await self.projection.apply_batch(events, replaying=self.position < self._replay_upto)
        self.applied += len(events)

    async def _load_position(self) -> int:
        self.projection.reset()
        self._stored.clear()
        self._from_memory = False
        newest: int | None = await asyncio.to_thread(self.app.recorder.max_notification_id)
        self._replay_upto = newest or 0
        return await super()._load_position()

    async def assigned(self) -> None:
        if not self.running:
            await self.start()

    async def idle(self) -> None:
        pass  # its own loop polls the log and is woken after each store

    async def revoked(self) -> None:
        await self.stop()
