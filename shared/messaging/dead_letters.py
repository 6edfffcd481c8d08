"""The DLQ writer: copies a record byte for byte (key, value, every header) to `<topic>.dlq`, adding why.

A producer of its own, not the broker's publish path: that one adds its own trace and content headers and
would replace the sender's `traceparent`, and it only takes text header values.

`send` never fails because of a record's size. A record near the broker's limit (about 1 MB) was accepted on
its topic, but its copy carries our headers too and may not fit in the dead-letter topic; the copy is then
replaced by a small "too large" record: a JSON pointer to the original's topic, partition and offset (where it
stays for the topic's retention), with the same `error` headers plus `value-omitted` and `original-value-size`.
Such a copy is never handed to the broker: a rejected batch costs the idempotent producer its sequence
numbers, and the sends after it would fail with `OutOfOrderSequenceNumber` (seen on Kafka 4.2). So the size
is checked first, against the dead-letter topic's own `max.message.bytes`, read from the broker once per topic.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from shared.messaging.kafka_security import KafkaSecurity

log = logging.getLogger(__name__)

DLQ_SUFFIX = ".dlq"
# What a topic accepts when nobody configured it (Kafka's `message.max.bytes` / `max.message.bytes`).
KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588
# The producer's own per-record check (aiokafka's default is 1 MiB, below what a default topic accepts):
# room for a copy of the largest record a default-configured topic takes, plus the headers we add. The
# dead-letter topic's `max.message.bytes` is the real bound; raising it lets larger copies through as they are.
DEFAULT_MAX_REQUEST_SIZE = KAFKA_DEFAULT_MAX_MESSAGE_BYTES + 64 * 1024
# Reasons name a field and a rule; anything longer is cut, so the headers we add stay small.
MAX_REASON_CHARS = 1_000
# A key is kept on the "too large" record (it routes and identifies the record) unless it is itself huge.
MAX_POINTER_KEY_BYTES = 1_024

Headers = list[tuple[str, bytes | None]]


def record_size(key: bytes | None, value: bytes | None, headers: Headers) -> int:
    """The bound aiokafka and the broker compare with their limits: one record alone in a batch."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers))


class DeadLetters:
    def __init__(
        self,
        bootstrap_servers: str,
        client_id: str,
        security: KafkaSecurity,
        max_request_size: int = DEFAULT_MAX_REQUEST_SIZE,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.security = security
        self.client_id = f"{client_id}-dlq"
        self.max_request_size = max_request_size
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        # Per dead-letter topic: its `max.message.bytes`, as the broker reported it.
        self._limits: dict[str, int] = {}
        self._restarting = asyncio.Lock()

    async def start(self) -> None:
        # Built here, not in __init__: aiokafka binds to the running event loop.
        self._producer = await self._new_producer()
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers, client_id=self.client_id, **self.security.client_kwargs()
        )
        await admin.start()
        self._admin = admin

    async def _new_producer(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            **self.security.client_kwargs(),
            client_id=self.client_id,
            enable_idempotence=True,
            acks="all",
            max_request_size=self.max_request_size,
        )
        await producer.start()
        return producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        if self._admin is not None:
            await self._admin.close()
            self._admin = None

    async def send(
        self, record: ConsumerRecord[bytes, bytes], consumer_group: str, reason: str, error_type: str
    ) -> None:
        """Copy `record` to its topic's DLQ, or, when the copy would not fit, a pointer to it."""
        if self._producer is None:
            raise RuntimeError("the dead-letter producer is not started")
        topic = record.topic + DLQ_SUFFIX
        why = _why(record, consumer_group, reason, error_type)
        headers: Headers = [(key, value) for key, value in record.headers or () if key not in why]
        headers += list(why.items())
        key, value = record.key, record.value
        if key is None and value is None:
            # aiokafka refuses a record with neither; the poison must still leave the partition.
            value = b""
            headers.append(("original-value-null", b"true"))
        size = record_size(key, value, headers)
        limit = min(self.max_request_size, await self._limit(topic))
        if size > limit:
            await self._send_pointer(record, topic, why, size, limit)
            return
        try:
            delivery = await self._producer.send(topic, value, key=key, headers=headers)
        except MessageSizeTooLargeError:
            # The producer's own check (our estimate is the same one, so not expected): nothing was sent.
            await self._send_pointer(record, topic, why, size, limit)
            return
        try:
            await delivery
        except MessageSizeTooLargeError:
            # The broker's limit is lower than it told us (changed since?): this producer's sequence numbers
            # are now out of step with the broker's, so it is replaced before anything else is sent.
            log.warning("%s refused a dead letter of %d bytes; sending a pointer to it instead", topic, size)
            self._limits.pop(topic, None)
            await self._replace_producer()
            await self._send_pointer(record, topic, why, size, None)

    async def _send_pointer(
        self, record: ConsumerRecord[bytes, bytes], topic: str, why: dict[str, bytes], size: int, limit: int | None
    ) -> None:
        assert self._producer is not None
        value_size = len(record.value) if record.value is not None else 0
        key = record.key if record.key is None or len(record.key) <= MAX_POINTER_KEY_BYTES else None
        accepts = f"{topic} accepts ({limit} bytes)" if limit is not None else f"{topic} accepted"
        pointer: dict[str, Any] = {
            "omitted": (
                f"the original record ({size} bytes with the error headers) is larger than {accepts}; "
                f"it is at {record.topic} partition {record.partition} offset {record.offset}"
            ),
            "original": {
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "timestamp": record.timestamp,
                "key_size": len(record.key) if record.key is not None else None,
                "value_size": value_size,
                "header_count": len(record.headers or ()),
            },
            "error": why["error"].decode(),
            "error_type": why["error-type"].decode(),
        }
        headers: Headers = list(why.items())
        headers += [("value-omitted", b"true"), ("original-value-size", str(value_size).encode())]
        if key is None and record.key is not None:
            headers += [("key-omitted", b"true"), ("original-key-size", str(len(record.key)).encode())]
        if record.headers:
            headers.append(("original-headers-omitted", str(len(record.headers)).encode()))
        value = json.dumps(pointer, separators=(",", ":")).encode()
        await self._producer.send_and_wait(topic, value, key=key, headers=headers)

    async def _limit(self, topic: str) -> int:
        """The dead-letter topic's `max.message.bytes` (the broker's default when it has none of its own)."""
        known = self._limits.get(topic)
        if known is not None:
            return known
        try:
            limit = await self._described_limit(topic)
        except (KafkaError, OSError) as error:
            log.warning("cannot read max.message.bytes of %s (%s); assuming Kafka's default", topic, error)
            limit = None
        if limit is None:
            # Not remembered: the next dead letter asks again. Kafka's default is what most topics have.
            return KAFKA_DEFAULT_MAX_MESSAGE_BYTES
        self._limits[topic] = limit
        return limit

    async def _described_limit(self, topic: str) -> int | None:
        if self._admin is None:
            raise RuntimeError("the dead-letter producer is not started")
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, {"max.message.bytes": None})
        for response in await self._admin.describe_configs([resource]):
            for error_code, _message, _type, name, entries in response.resources:
                if name != topic or error_code != 0:
                    continue
                for entry in entries:
                    if entry[0] == "max.message.bytes" and entry[1] is not None:
                        return int(entry[1])
        # Unknown topic (it would be created with the broker's default on first write) or no such entry.
        return None

    async def _replace_producer(self) -> None:
        async with self._restarting:
            old, self._producer = self._producer, await self._new_producer()
            if old is not None:
                await old.stop()


def _why(record: ConsumerRecord[bytes, bytes], consumer_group: str, reason: str, error_type: str) -> dict[str, bytes]:
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - 1] + "…"
    return {
        "error": reason.encode(),
        "error-type": error_type.encode(),
        "error-consumer": consumer_group.encode(),
        "original-topic": record.topic.encode(),
        "original-partition": str(record.partition).encode(),
        "original-offset": str(record.offset).encode(),
    }
