"""Support targets are watched by one process: the owner of the consumer's log 0 (which also relays the case
log). Every `support_targets_check_s` it looks at the case board for targets passed and records each breach through
the case aggregate; the relay then publishes `CaseTargetBreached`. Once per case and target, with any number of
replicas: the aggregate records a target's breach only once, and its log accepts one writer of each version, so a
second process that raced (a rebalance in flight) fails its save, reloads and finds the breach recorded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from eventsourcing.persistence import IntegrityError

from services.customer_service.application import SupportApplication
from services.customer_service.projections.case_board import CaseBoard

log = logging.getLogger(__name__)


class TargetWatch:
    """An owner duty (shared/messaging/consumer.py's OwnerDuty) of the customer_service consumer's log 0."""

    def __init__(self, app: SupportApplication, board: CaseBoard, every_s: float) -> None:
        self.app = app
        self.board = board
        self.every_s = every_s
        self._task: asyncio.Task[None] | None = None

    async def record_breaches(self, now: datetime | None = None) -> int:
        """Record what has been breached by `now`; returns how many cases got a breach."""
        now = now or datetime.now(UTC)
        await self.board.refresh()
        recorded = 0
        for case_id in self.board.breaches_to_record(now):
            try:
                if await asyncio.to_thread(self.app.record_breaches, case_id, now):
                    recorded += 1
            except IntegrityError:
                # An agent changed the case meanwhile: the next round looks at it again.
                log.info("customer_service: %s changed while recording its breach; next round", case_id)
        return recorded

    async def assigned(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="customer_service-target-watch")

    async def idle(self) -> None:
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
                await self.record_breaches()
            except Exception:
                # Store trouble: the next round tries again; a breach recorded late is still recorded once.
                log.exception("customer_service: recording target breaches failed; again in %.0fs", self.every_s)
