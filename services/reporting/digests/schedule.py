"""The digest schedule, in every replica: each check, every period that is due and not stored yet is produced —
yesterday's daily digest from `DIGEST_HOUR_UTC` on, last week's weekly one from Monday at that hour (and every
period since `DIGEST_SINCE`, when set). Safe with N replicas: the report id is fixed per period and the store's
insert lets only the first one in (projections/reports.py).

A period is produced only once the read model has consumed everything that was on the topics when the period
was found due (the consumer group's committed offsets reach the end offsets sampled then), so a replica that has
just started, or a backlog, never makes a digest of half the events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.reporting.digests.service import Digests
from services.reporting.domain.digest import DigestPeriod
from shared.messaging.kafka_security import KafkaSecurity

log = logging.getLogger(__name__)
CATCH_UP_POLL_S = 1.0


class ReadModelPosition:
    """How far the consumer group has committed, against where the topics end."""

    def __init__(
        self, bootstrap_servers: str, group_id: str, topics: Sequence[str], partitions: int, security: KafkaSecurity
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.security = security
        self.group_id = group_id
        self.partitions = [TopicPartition(t, p) for t in topics for p in range(partitions)]

    async def ends(self) -> dict[TopicPartition, int]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False, **self.security.client_kwargs()
        )
        await consumer.start()
        try:
            return dict(await consumer.end_offsets(self.partitions))
        finally:
            await consumer.stop()

    async def caught_up_with(self, ends: dict[TopicPartition, int]) -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, **self.security.client_kwargs())
        await admin.start()
        try:
            committed = await admin.list_consumer_group_offsets(self.group_id)
        finally:
            await admin.close()
        return all((committed[tp].offset if tp in committed else 0) >= end for tp, end in ends.items() if end > 0)


def due_periods(now: datetime, hour: int, since: date | None) -> list[DigestPeriod]:
    last_day = now.date() - timedelta(days=1 if now.hour >= hour else 2)
    first_day = min(since or last_day, last_day)
    periods = [DigestPeriod.daily(first_day + timedelta(days=n)) for n in range((last_day - first_day).days + 1)]
    week = DigestPeriod.weekly(first_day)
    while week.end <= last_day:
        periods.append(week)
        week = DigestPeriod.weekly(week.end + timedelta(days=1))
    return periods


class DigestSchedule:
    def __init__(
        self, digests: Digests, position: ReadModelPosition, hour: int, since: date | None, every_s: float
    ) -> None:
        self.digests = digests
        self.position = position
        self.hour = hour
        self.since = since
        self.every_s = every_s
        self.known: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="digest-schedule")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self.tick(datetime.now(UTC))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("digest schedule: this round failed; trying again at the next")
            await asyncio.sleep(self.every_s)

    async def _wait_until_consumed(self, ends: dict[TopicPartition, int]) -> None:
        # Polled, not an Event: the offsets are the consumer group's, committed by whichever replica owns each
        # partition, often another process.
        while not await self.position.caught_up_with(ends):  # noqa: ASYNC110
            await asyncio.sleep(CATCH_UP_POLL_S)

    async def tick(self, now: datetime) -> int:
        missing = []
        for period in due_periods(now, self.hour, self.since):
            if period.report_id in self.known:
                continue
            if await self.digests.reports.exists(period.report_id):
                self.known.add(period.report_id)
            else:
                missing.append(period)
        if not missing:
            return 0
        ends = await self.position.ends()
        await self._wait_until_consumed(ends)
        produced = 0
        for period in missing:
            produced += await self.digests.produce(period)
            self.known.add(period.report_id)
        return produced
