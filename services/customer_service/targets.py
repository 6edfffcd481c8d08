"""Support targets are watched by one process: the owner of the consumer's log 0 (which also relays the case
log). Every `support_targets_check_s` it looks at the case board for targets passed and records each breach through
the case aggregate; the relay then publishes `CaseTargetBreached`. Once per case and target, with any number of
replicas: the aggregate records a target's breach only once, and its log accepts one writer of each version, so a
second process that raced (a rebalance in flight) fails its save, reloads and finds the breach recorded."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from eventsourcing.persistence import IntegrityError

from services.customer_service.application import SupportApplication
from services.customer_service.projections.case_board import CaseBoard
from shared.messaging.periodic import PeriodicDuty

log = logging.getLogger(__name__)


class TargetWatch(PeriodicDuty):
    """An owner duty (shared/messaging/consumer.py's OwnerDuty) of the customer_service consumer's log 0."""

    name = "customer_service: recording target breaches"

    def __init__(self, app: SupportApplication, board: CaseBoard, every_s: float) -> None:
        super().__init__(every_s)
        self.app = app
        self.board = board

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

    async def run_once(self) -> int:
        return await self.record_breaches()
