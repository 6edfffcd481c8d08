"""Local projections: a service's read models, fed from its OWN event log (not from Kafka).

A `ProjectionRunner` tails the application's notification log in order, hands each batch of domain events to
its projection, which writes the read model, and saves how far it got after every batch. A crash between
applying and saving re-applies the tail, so the projection must be idempotent (e.g. versioned documents that
skip what is already there).

The event log, not the broker, is the source: the read model never waits for the outbox relay, and a
rebuild is "drop the collections, reset the position".
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from eventsourcing.application import Application
from pymongo.asynchronous.collection import AsyncCollection

from shared.log_follower import LogFollower


class Projection(Protocol):
    async def apply_batch(self, events: Sequence[Any], replaying: bool) -> None:
        """Fold a batch of domain events, in log order, into the read model (idempotently). `replaying`: the
        batch may hold events already applied (it reaches into what was stored before the runner started)."""

    def reset(self) -> None:
        """The runner reads again from its saved position: drop whatever was kept from before."""


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
    ) -> None:
        super().__init__(name, app, positions, batch_size, idle_poll_s)
        self.projection = projection
        self.applied = 0
        # Everything stored before the runner (re)started may have been applied already: the position is saved
        # after a batch, and a crash can come in between. Nothing stored after that can have been.
        self._replay_upto = 0

    async def handle(self, events: list[Any], last_id: int) -> None:
        await self.projection.apply_batch(events, replaying=self.position < self._replay_upto)
        self.applied += len(events)

    async def _load_position(self) -> int:
        self.projection.reset()
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
