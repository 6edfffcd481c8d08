"""Every record in the contract topics' DLQs, read from the beginning to the end offsets (not "until N
arrived": an extra copy must be seen, and a missing one must not be waited for forever)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

CONTRACT_TOPICS = ("storefront.orders", "warehouse.events", "carrier.tracking")
READ_WITHIN_S = 60.0


@dataclass(frozen=True)
class DeadLetter:
    topic: str  # the contract topic it came from
    key: bytes | None
    value: bytes | None
    error: str
    error_type: str
    # Where the copied record was (its topic, partition and offset, from the copy's headers): a copy repeated by
    # a crash between dead-lettering and the commit that stores the record's position names the same place.
    original: tuple[str, str, str] = ("", "", "")


async def read_dead_letters(bootstrap: str, client_kwargs: dict[str, Any], topic_prefix: str = "") -> list[DeadLetter]:
    """`client_kwargs`: aiokafka's security arguments of a user who may read every DLQ (the admin)."""
    letters: list[DeadLetter] = []
    for topic in CONTRACT_TOPICS:
        letters += await _read_topic(bootstrap, client_kwargs, topic_prefix + topic + ".dlq", topic)
    return letters


async def _read_topic(bootstrap: str, client_kwargs: dict[str, Any], dlq: str, origin: str) -> list[DeadLetter]:
    partitions = await _partitions(bootstrap, client_kwargs, dlq)
    if not partitions:
        return []  # no DLQ topic: nothing was ever dead-lettered there
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, **client_kwargs)
    await consumer.start()
    try:
        assigned = [TopicPartition(dlq, partition) for partition in partitions]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        letters: list[DeadLetter] = []
        deadline = time.monotonic() + READ_WITHIN_S
        while await _behind(consumer, ends) and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                letters += [_letter(origin, record) for record in records]
        return letters
    finally:
        await consumer.stop()


def _letter(origin: str, record: ConsumerRecord[bytes, bytes]) -> DeadLetter:
    headers = dict(record.headers)
    return DeadLetter(
        origin,
        record.key,
        record.value,
        (headers.get("error") or b"").decode(errors="replace"),
        (headers.get("error-type") or b"").decode(errors="replace"),
        tuple(  # type: ignore[arg-type]
            (headers.get(name) or b"").decode(errors="replace")
            for name in ("original-topic", "original-partition", "original-offset")
        ),
    )


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for partition, end in ends.items():
        if await consumer.position(partition) < end:
            return True
    return False


async def _partitions(bootstrap: str, client_kwargs: dict[str, Any], topic: str) -> list[int]:
    """The topic's partitions, asked of the broker without creating the topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return []
        (described,) = await admin.describe_topics([topic])
        return sorted(int(partition["partition"]) for partition in described["partitions"])
    finally:
        await admin.close()
