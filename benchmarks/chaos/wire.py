"""The outside world's Kafka producer. Every record is sent until the broker acknowledges it, byte for byte the
same on each try — what a storefront or carrier integration does across a broker outage. A retry after an
unclear failure may land twice: the contract says a repeated `event_id` has no further effect.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from tests.kafka_probe import envelope

SEND_TIMEOUT_S = 20.0
RETRY_PAUSE_S = 1.0
# After this many failures in a row the producer is replaced: an idempotent producer can be left in a state
# (sequence numbers the restarted broker no longer knows) that only a new one gets out of.
FAILURES_BEFORE_NEW_PRODUCER = 3


@dataclass(frozen=True)
class Record:
    topic: str  # without the prefix: a contract topic name
    key: bytes
    value: bytes


@dataclass
class Wire:
    bootstrap: str
    topic_prefix: str = ""
    # aiokafka's security arguments (deploy/local/kafka_users.py): the broker refuses clients without a user.
    client_kwargs: dict[str, Any] = field(default_factory=dict)
    retries: int = 0
    sent: int = 0
    _producer: AIOKafkaProducer | None = field(default=None, init=False)
    _failures_in_a_row: int = field(default=0, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def start(self) -> None:
        await self._renew()

    async def stop(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(KafkaError, TimeoutError):
                await asyncio.wait_for(self._producer.stop(), 10)

    async def publish(
        self,
        topic: str,
        key: str,
        type_: str,
        data: dict[str, Any],
        *,
        event_id: str | None = None,
        occurred_at: str | None = None,
    ) -> Record:
        record = Record(topic, key.encode(), envelope(type_, data, event_id, occurred_at))
        await self.deliver(record)
        return record

    async def deliver(self, record: Record) -> None:
        while True:
            producer = self._producer
            assert producer is not None, "Wire.start() first"
            try:
                send = producer.send_and_wait(self.topic_prefix + record.topic, record.value, key=record.key)
                await asyncio.wait_for(send, SEND_TIMEOUT_S)
            except (KafkaError, TimeoutError):
                self.retries += 1
                await self._after_failure(producer)
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            self._failures_in_a_row = 0
            self.sent += 1
            return

    async def _after_failure(self, failed: AIOKafkaProducer) -> None:
        async with self._lock:
            if self._producer is not failed:
                return  # another sender already replaced it
            self._failures_in_a_row += 1
            if self._failures_in_a_row >= FAILURES_BEFORE_NEW_PRODUCER:
                await self._renew()

    async def _renew(self) -> None:
        old, self._failures_in_a_row = self._producer, 0
        self._producer = await self._started_producer()
        if old is not None:
            with contextlib.suppress(KafkaError, TimeoutError, OSError):
                await asyncio.wait_for(old.stop(), 5)

    async def _started_producer(self) -> AIOKafkaProducer:
        """A producer that has reached the broker (which may take the rest of a broker bounce)."""
        while True:
            fresh = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                enable_idempotence=True,
                acks="all",
                request_timeout_ms=15000,
                **self.client_kwargs,
            )
            try:
                await asyncio.wait_for(fresh.start(), 15)
                return fresh
            except (KafkaError, TimeoutError, OSError):
                with contextlib.suppress(KafkaError, TimeoutError, OSError):
                    await asyncio.wait_for(fresh.stop(), 5)
                await asyncio.sleep(RETRY_PAUSE_S)
