"""Reading and writing raw Kafka records in tests, the way an outside system (or an operator) would."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from deploy.local import kafka_users

ADMIN = kafka_users.ADMIN


class Credentials(Protocol):
    """A Kafka user (`shared.messaging.kafka_security.KafkaSecurity`; not imported here: the chaos harness uses this
    module and must not depend on the services' `shared` package)."""

    def client_kwargs(self) -> dict[str, Any]: ...


def _kwargs(security: Credentials | None) -> dict[str, Any]:
    return security.client_kwargs() if security is not None else kafka_users.aiokafka_kwargs(ADMIN)


def envelope(type_: str, data: dict[str, Any], event_id: str | None = None, occurred_at: str | None = None) -> bytes:
    return json.dumps(
        {
            "event_id": event_id or str(uuid.uuid4()),
            "type": type_,
            "occurred_at": occurred_at or datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "data": data,
        }
    ).encode()


@asynccontextmanager
async def producer(bootstrap: str, security: Credentials | None = None) -> AsyncIterator[AIOKafkaProducer]:
    """A producer as `security`'s user; by default the admin (tests forge records on any topic)."""
    client = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        **_kwargs(security),
    )
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def read_all(
    bootstrap: str, topic: str, *, expect: int, within: float = 30.0, security: Credentials | None = None
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `topic` from the beginning, waiting until at least `expect` arrived (as the admin unless
    `security` says otherwise)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        **_kwargs(security),
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + within
    try:
        while len(records) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for partition_records in batch.values():
                records.extend(partition_records)
        # A little longer, to see records that should NOT be there.
        await asyncio.sleep(0.5)
        for partition_records in (await consumer.getmany(timeout_ms=500)).values():
            records.extend(partition_records)
    finally:
        await consumer.stop()
    return records
