"""One write for the batches that several logs of a process hand in at the same moment.

A read model consumed per partition writes once per batch per log: its fixed costs (a sequence reservation, one
insert per collection, a claim) are paid by every log, and at a few orders per second a log's batch holds one
order's events. With the logs' batches started on the same tick (`ServiceConsumer(aligned_batches=True)`), the
batches of one tick are folded by one call, so those costs are paid once per tick for the whole process.

Failure stays per log: a combined call that fails is run again for each log's part alone, so a record that cannot
be stored fails only its own log's batch (which the consumer then splits to find it), and a transient error is
retried by each log with its own backoff. The parts' effects are idempotent (by event id), so what the failed
combined call did write is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")

# How long the first part of a tick waits for the others: they are handed in within one pass of the event loop
# (nothing awaits between a log's tick and its write), so this only has to outlast that pass.
GATHER_S = 0.002


@dataclass
class _Part(Generic[Item]):
    items: list[Item]
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Coalesced(Generic[Item]):
    def __init__(self, write: Callable[[list[Item]], Awaitable[None]], gather_s: float = GATHER_S) -> None:
        self.write = write
        self.gather_s = gather_s
        self._waiting: list[_Part[Item]] = []
        self._flush: asyncio.Task[None] | None = None
        # The flushes under way: the loop keeps only weak references to tasks.
        self._flushing: set[asyncio.Task[None]] = set()

    async def __call__(self, items: list[Item]) -> None:
        """Returns once `items` are written (with others' or alone); raises what their own write raised."""
        part: _Part[Item] = _Part(list(items))
        self._waiting.append(part)
        if self._flush is None:
            self._flush = asyncio.create_task(self._flush_soon())
            self._flushing.add(self._flush)
            self._flush.add_done_callback(self._flushing.discard)
        await part.done

    async def _flush_soon(self) -> None:
        parts: list[_Part[Item]] = []
        try:
            await asyncio.sleep(self.gather_s)
            # What arrives from now on starts the next write, which may run while this one does.
            parts, self._waiting, self._flush = self._waiting, [], None
            if len(parts) > 1 and await self._write([item for part in parts for item in part.items]) is None:
                for part in parts:
                    _settle(part, None)
                return
            for part in parts:
                _settle(part, await self._write(part.items))
        except BaseException:
            # Only when the loop shuts down: the logs waiting are being stopped too.
            for part in parts or self._waiting:
                part.done.cancel()
            raise

    async def _write(self, items: list[Item]) -> Exception | None:
        try:
            await self.write(items)
        except Exception as error:
            return error
        return None


def _settle(part: _Part[Item], error: Exception | None) -> None:
    if part.done.done():  # its log stopped waiting (cancelled by a revocation)
        return
    if error is None:
        part.done.set_result(None)
    else:
        part.done.set_exception(error)
    with contextlib.suppress(Exception):
        part.done.exception()  # retrieved: a part nobody awaits any more logs no "never retrieved" warning
