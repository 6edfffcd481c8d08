"""A service's event logs, one per partition group, and the ways in: the consumer runtime (batches), HTTP
commands (one delivery, through the same unit of work) and HTTP queries (any replica reads any log).

Each log has a writer application (its aggregates cached: only the log's owner writes on the hot path) and a
reader application without a cache (queries read what is stored, whoever owns the log).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from shared.eventstore.commitlog import LogMoved
from shared.messaging.application import Delivery, Processed, ServiceApplication
from shared.messaging.event_log import EventLogWorker
from shared.messaging.ownership import log_of_key
from shared.messaging.relay import LogRelay

App = TypeVar("App", bound=ServiceApplication)
COMMAND_ATTEMPTS = 5


@dataclass
class LogSet(Generic[App]):
    """The logs of one service. `partitions` is the partition count of every topic the service consumes."""

    name: str
    partitions: int
    writers: list[App]
    readers: list[App]
    relays: list[LogRelay]
    workers: list[EventLogWorker]

    @property
    def count(self) -> int:
        return len(self.writers)

    def index(self, key: str) -> int:
        return log_of_key(key, self.partitions, self.count)

    def reader(self, key: str | None = None) -> App:
        return self.readers[0 if key is None else self.index(key)]

    def writer(self, key: str | None = None) -> App:
        return self.writers[0 if key is None else self.index(key)]

    async def query(self, key: str | None, query: Callable[[App], Any]) -> Any:
        """Run a read off the event loop against the log that holds `key`."""
        reader = self.reader(key)
        return await asyncio.to_thread(query, reader)

    async def command(self, key: str | None, delivery: Delivery) -> Processed:
        """An HTTP command through the log's unit of work; its events are relayed by the log's owner (at once
        when that is this process, else when the owner next looks)."""
        index = 0 if key is None else self.index(key)
        worker = self.workers[index]
        for attempt in range(1, COMMAND_ATTEMPTS + 1):
            try:
                processed = await worker.process([delivery])
            except LogMoved:
                if attempt == COMMAND_ATTEMPTS:
                    raise
                continue
            if worker.owned:
                await self.relays[index].publish(processed.events, processed.notification_ids)
            return processed
        raise AssertionError("unreachable")

    def close(self) -> None:
        for app in (*self.writers, *self.readers):
            app.close()
