"""Local projections: a service's read models, fed from its OWN event log (not from Kafka).

A `ProjectionRunner` tails the application's notification log in order, hands each domain event to an async
`apply(event)` callback that writes the read model, and saves how far it got after every batch. A crash
between applying and saving re-applies the tail, so `apply` must be idempotent (e.g. versioned upserts that
skip what is already there). Several replicas of a service may run the same projection: idempotent writes
make that harmless too, only wasteful.

The event log, not the broker, is the source: the read model never waits for the outbox relay, and a
rebuild is "drop the collections, reset the position".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from eventsourcing.application import Application
from pymongo.asynchronous.collection import AsyncCollection

from shared.log_follower import LogFollower

Apply = Callable[[Any], Awaitable[None]]


class ProjectionRunner(LogFollower):
    kind = "projection"

    def __init__(
        self,
        name: str,
        app: Application[Any],
        apply: Apply,
        positions: AsyncCollection[dict[str, Any]],
        batch_size: int = 200,
        idle_poll_s: float = 0.5,
    ) -> None:
        super().__init__(name, app, positions, batch_size, idle_poll_s)
        self.apply = apply
        self.applied = 0

    async def handle(self, events: list[Any]) -> None:
        for event in events:
            await self.apply(event)
            self.applied += 1
