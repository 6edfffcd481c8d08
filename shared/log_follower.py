"""Following a service's own event log: the one loop behind the outbox relay and the local projections.

A follower reads the application's notification log in order, in batches, off the event loop (a subclass may
take batches it already holds instead, `next_batch`); hands each batch of domain events to `handle`; and saves
how far it got, durably, after `handle` returned — after every batch, or at most every `save_every_s` and when
idle. A crash in between means the tail is handled again, so what `handle` does must be safe to repeat
(re-publishing under the same event ids, versioned upserts). Store or broker trouble restarts from the saved
position with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from typing import Any

from eventsourcing.application import Application
from pymongo.asynchronous.collection import AsyncCollection

log = logging.getLogger(__name__)
STOP_SAVE_TIMEOUT_S = 5.0


class LogFollower(ABC):
    kind = "log follower"

    def __init__(
        self,
        name: str,
        app: Application[Any],
        positions: AsyncCollection[dict[str, Any]],
        batch_size: int = 200,
        idle_poll_s: float = 0.5,
        save_every_s: float = 0.0,
    ) -> None:
        self.name = name
        self.app = app
        self.positions = positions
        self.batch_size = batch_size
        self.idle_poll_s = idle_poll_s
        self.save_every_s = save_every_s
        self.position = 0
        self._saved = 0
        self._saved_at = 0.0
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @abstractmethod
    async def handle(self, events: list[Any], last_id: int) -> None:
        """Do this follower's work for a batch of domain events, in log order, up to notification `last_id`."""

    async def after_batch(self, notifications: int) -> None:  # noqa: B027 - optional hook
        """Called once a batch is handled and its position saved."""

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name=f"{self.kind}-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
            # What was handled is in the target: saving it spares the next owner a replay (best effort).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.save_position(), STOP_SAVE_TIMEOUT_S)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """Something was stored: look now rather than at the next poll. Safe from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wakeup.set)

    async def backlog(self) -> int:
        """Notifications stored but not yet handled (for metrics and tests)."""
        newest = await asyncio.to_thread(self.app.recorder.max_notification_id)
        return max(0, (newest or 0) - self.position)

    async def catch_up(self) -> int:
        """Handle everything stored so far, without the background task; returns the new position."""
        self.position = await self._load_position()
        while await self.process_batch():
            pass
        return self.position

    async def process_batch(self) -> bool:
        """Handle the next batch after `position`; False when there was nothing new (the position is saved)."""
        batch = await self.next_batch()
        if batch is None:
            await self.save_position()
            return False
        events, last_id = batch
        await self.handle(events, last_id)
        self.position = last_id
        if time.monotonic() - self._saved_at >= self.save_every_s:
            await self.save_position()
        await self.after_batch(len(events))
        return True

    async def next_batch(self) -> tuple[list[Any], int] | None:
        """The domain events after `position` (at most `batch_size`) and the last one's notification id."""
        notifications = await asyncio.to_thread(
            self.app.recorder.select_notifications, self.position + 1, self.batch_size
        )
        if not notifications:
            return None
        return [self.app.mapper.to_domain_event(n) for n in notifications], notifications[-1].id

    async def save_position(self) -> None:
        if self.position != self._saved:
            await self.positions.update_one({"_id": self.name}, {"$set": {"position": self.position}}, upsert=True)
            self._saved = self.position
        self._saved_at = time.monotonic()

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                self.position = await self._load_position()
                while True:
                    # Cleared before looking, so that a wake-up while a batch is handled is not lost.
                    self._wakeup.clear()
                    if not await self.process_batch():
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wakeup.wait(), self.idle_poll_s)
                    failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # Broker or store trouble, or an event `handle` chokes on: start again from the saved position,
                # backing off so that neither an outage nor a bug spins the CPU.
                failures += 1
                delay = min(10.0, 0.2 * 2**failures)
                log.warning("%s %s failed (%r); retrying in %.1fs", self.kind, self.name, error, delay)
                await asyncio.sleep(delay)

    async def _load_position(self) -> int:
        document = await self.positions.find_one({"_id": self.name})
        self._saved = int(document["position"]) if document else 0
        self._saved_at = time.monotonic()
        return self._saved
