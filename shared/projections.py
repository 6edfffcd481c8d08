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

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from eventsourcing.application import Application
from pymongo.asynchronous.collection import AsyncCollection

log = logging.getLogger(__name__)

Apply = Callable[[Any], Awaitable[None]]


class ProjectionRunner:
    def __init__(
        self,
        name: str,
        app: Application[Any],
        apply: Apply,
        positions: AsyncCollection[dict[str, Any]],
        batch_size: int = 200,
        idle_poll_s: float = 0.5,
    ) -> None:
        self.name = name
        self.app = app
        self.apply = apply
        self.positions = positions
        self.batch_size = batch_size
        self.idle_poll_s = idle_poll_s
        self.position = 0
        self.applied = 0
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name=f"projection-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def wake(self) -> None:
        """Something was stored: look now rather than at the next poll. Safe from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wakeup.set)

    async def catch_up(self) -> int:
        """Apply everything stored so far (without the background task); returns the new position."""
        self.position = await self._load_position()
        while await self.apply_batch():
            pass
        return self.position

    async def backlog(self) -> int:
        """Notifications stored but not yet applied (for readiness, metrics and tests)."""
        newest = await asyncio.to_thread(self.app.recorder.max_notification_id)
        return max(0, (newest or 0) - self.position)

    async def apply_batch(self) -> bool:
        """Apply the next batch after `position`; False when there was nothing new."""
        notifications = await asyncio.to_thread(
            self.app.recorder.select_notifications, self.position + 1, self.batch_size
        )
        if not notifications:
            return False
        for notification in notifications:
            await self.apply(self.app.mapper.to_domain_event(notification))
            self.applied += 1
        self.position = notifications[-1].id
        await self.positions.update_one({"_id": self.name}, {"$set": {"position": self.position}}, upsert=True)
        return True

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                self.position = await self._load_position()
                while True:
                    if not await self.apply_batch():
                        self._wakeup.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wakeup.wait(), self.idle_poll_s)
                    failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # Store trouble, or an event the callback chokes on: start again from the last saved position,
                # backing off so that neither an outage nor a bug spins the CPU.
                failures += 1
                delay = min(10.0, 0.2 * 2**failures)
                log.warning(
                    "projection %s failed (%s: %s); retrying in %.1fs", self.name, type(error).__name__, error, delay
                )
                await asyncio.sleep(delay)

    async def _load_position(self) -> int:
        document = await self.positions.find_one({"_id": self.name})
        return int(document["position"]) if document else 0
