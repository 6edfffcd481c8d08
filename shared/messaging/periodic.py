"""An owner duty that does one piece of work every so often while its process owns the log (a timer of the log's
single writer: expiring what waited too long, recording targets passed). Started on assignment, cancelled on
revocation; a failed round is logged and the next round tries again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod

log = logging.getLogger(__name__)


class PeriodicDuty(ABC):
    """Subclasses say what a round does (`run_once`) and what it is called (`name`, for the task and the log)."""

    name = "periodic duty"

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    async def run_once(self) -> object:
        """One round of the work."""

    async def assigned(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def idle(self) -> None:  # noqa: B027 - a timer has nothing to do when its log is idle
        pass

    async def revoked(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.run_once()
            except Exception:
                # Store trouble: the next round tries again; the work is the same when done a little later.
                log.exception("%s failed; trying again in %.0fs", self.name, self.every_s)
