"""The DLQ writer on the real broker: byte-for-byte copies, and a small pointer when a copy cannot fit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.messaging.broker import ensure_topics
from shared.messaging.dead_letters import KAFKA_DEFAULT_MAX_MESSAGE_BYTES, DeadLetters, record_size
from tests.integration.conftest import Infrastructure
from tests.kafka_probe import producer, read_all

GROUP = "test-consumer"
# A producer refuses records over its `max_request_size` (aiokafka's default) before the broker sees them.
AIOKAFKA_DEFAULT_MAX_REQUEST_SIZE = 1_048_576


@pytest.fixture
async def topic(infrastructure: Infrastructure, unique: str) -> str:
    name = f"dlq-test-{unique}"
    await ensure_topics(
        infrastructure.kafka_bootstrap_servers, 1, 1, names=[name, name + ".dlq"], security=infrastructure.security()
    )
    return name


@pytest.fixture
async def dead_letters(infrastructure: Infrastructure) -> AsyncIterator[DeadLetters]:
    writer = DeadLetters(infrastructure.kafka_bootstrap_servers, client_id="test", security=infrastructure.security())
    await writer.start()
    yield writer
    await writer.stop()


@pytest.fixture
async def kafka(infrastructure: Infrastructure) -> AsyncIterator[AIOKafkaProducer]:
    async with producer(infrastructure.kafka_bootstrap_servers) as client:
        yield client


async def consumed(infrastructure: Infrastructure, topic: str, expect: int) -> list[ConsumerRecord[bytes, bytes]]:
    return await read_all(infrastructure.kafka_bootstrap_servers, topic, expect=expect)


def headers_of(record: ConsumerRecord[bytes, bytes]) -> dict[str, bytes | None]:
    return dict(record.headers)


def largest_value_the_topic_takes(key: bytes, headers: list[tuple[str, bytes | None]] | None = None) -> int:
    """A value as large as a default topic (and a default producer) accept, so that any added header overflows."""
    headers = headers or []
    size = AIOKAFKA_DEFAULT_MAX_REQUEST_SIZE - record_size(key, b"", headers) + 8
    while record_size(key, b"x" * size, headers) > AIOKAFKA_DEFAULT_MAX_REQUEST_SIZE:
        size -= 1
    return size


async def test_an_invalid_record_is_copied_byte_for_byte_with_the_reason(
    infrastructure: Infrastructure, topic: str, dead_letters: DeadLetters, kafka: AIOKafkaProducer
) -> None:
    value = b'\xff{"not": utf-8'
    sent_headers = [("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), ("raw", b"\xff\xfe")]
    await kafka.send_and_wait(topic, value, key=b"SO-1", headers=[*sent_headers, ("error", b"the sender's own")])
    (original,) = await consumed(infrastructure, topic, 1)

    await dead_letters.send(original, GROUP, "value is not UTF-8: invalid start byte at byte 0", "decoding")

    (copy,) = await consumed(infrastructure, topic + ".dlq", 1)
    assert (copy.key, copy.value) == (b"SO-1", value)
    assert list(copy.headers[:2]) == sent_headers  # untouched, in their order
    assert headers_of(copy) == {
        **dict(sent_headers),
        "error": b"value is not UTF-8: invalid start byte at byte 0",  # ours, not the sender's
        "error-type": b"decoding",
        "error-consumer": GROUP.encode(),
        "original-topic": topic.encode(),
        "original-partition": b"0",
        "original-offset": str(original.offset).encode(),
    }


async def test_a_tombstone_is_copied_as_a_tombstone(
    infrastructure: Infrastructure, topic: str, dead_letters: DeadLetters, kafka: AIOKafkaProducer
) -> None:
    await kafka.send_and_wait(topic, None, key=b"SO-2")
    (original,) = await consumed(infrastructure, topic, 1)

    await dead_letters.send(original, GROUP, "value is not valid JSON: Expecting value at line 1 column 1", "decoding")

    (copy,) = await consumed(infrastructure, topic + ".dlq", 1)
    assert (copy.key, copy.value) == (b"SO-2", None)
    assert headers_of(copy)["error-type"] == b"decoding"


async def test_the_issues_one_megabyte_value_is_copied_whole(
    infrastructure: Infrastructure, topic: str, dead_letters: DeadLetters, kafka: AIOKafkaProducer
) -> None:
    """About 1,048,000 bytes, as in the issue: with the error headers it still fits the dead-letter topic."""
    value = b'{"data": "' + b"x" * 1_047_988 + b'"}'
    await kafka.send_and_wait(topic, value, key=b"TN-1")
    (original,) = await consumed(infrastructure, topic, 1)

    await asyncio.wait_for(dead_letters.send(original, GROUP, "type: Field required", "validation"), 30)

    (copy,) = await consumed(infrastructure, topic + ".dlq", 1)
    assert copy.value == value and copy.key == b"TN-1"
    assert "value-omitted" not in headers_of(copy)


async def test_a_record_whose_copy_cannot_fit_becomes_a_pointer_and_later_copies_still_work(
    infrastructure: Infrastructure, topic: str, dead_letters: DeadLetters, kafka: AIOKafkaProducer
) -> None:
    sent_headers: list[tuple[str, bytes | None]] = [("traceparent", b"00-abc")]
    big = b"x" * largest_value_the_topic_takes(b"TN-2", sent_headers)
    await kafka.send_and_wait(topic, big, key=b"TN-2", headers=sent_headers)
    await kafka.send_and_wait(topic, b"{}", key=b"TN-3")
    original, small = await consumed(infrastructure, topic, 2)

    await asyncio.wait_for(
        dead_letters.send(original, GROUP, "value is not valid JSON: Expecting value", "decoding"), 30
    )
    # The producer is still in step with the broker: the next dead letter is an exact copy.
    await asyncio.wait_for(dead_letters.send(small, GROUP, "event_id: Field required", "validation"), 30)

    pointer, copy = await consumed(infrastructure, topic + ".dlq", 2)
    assert pointer.key == b"TN-2"
    assert headers_of(pointer) == {
        "error": b"value is not valid JSON: Expecting value",
        "error-type": b"decoding",
        "error-consumer": GROUP.encode(),
        "original-topic": topic.encode(),
        "original-partition": b"0",
        "original-offset": str(original.offset).encode(),
        "value-omitted": b"true",
        "original-value-size": str(len(big)).encode(),
        "original-headers-omitted": b"1",
    }
    assert pointer.value is not None and len(pointer.value) < 2_000
    body = json.loads(pointer.value)
    assert body["original"] == {
        "topic": topic,
        "partition": 0,
        "offset": original.offset,
        "timestamp": original.timestamp,
        "key_size": 4,
        "value_size": len(big),
        "header_count": 1,
    }
    assert f"offset {original.offset}" in body["omitted"] and body["error_type"] == "decoding"
    assert (copy.key, copy.value) == (b"TN-3", b"{}")
    assert headers_of(copy)["error"] == b"event_id: Field required"


async def test_a_dead_letter_topic_that_takes_larger_records_gets_the_whole_copy(
    infrastructure: Infrastructure, unique: str, dead_letters: DeadLetters, kafka: AIOKafkaProducer
) -> None:
    topic = f"dlq-test-roomy-{unique}"
    admin = AIOKafkaAdminClient(
        bootstrap_servers=infrastructure.kafka_bootstrap_servers, **infrastructure.security().client_kwargs()
    )
    await admin.start()
    try:
        roomy = {"max.message.bytes": str(2 * KAFKA_DEFAULT_MAX_MESSAGE_BYTES)}
        await admin.create_topics([NewTopic(topic, 1, 1), NewTopic(topic + ".dlq", 1, 1, topic_configs=roomy)])
    finally:
        await admin.close()
    big = b"x" * largest_value_the_topic_takes(b"TN-4")
    await kafka.send_and_wait(topic, big, key=b"TN-4")
    (original,) = await consumed(infrastructure, topic, 1)

    await asyncio.wait_for(dead_letters.send(original, GROUP, "type: Field required", "validation"), 30)

    (copy,) = await consumed(infrastructure, topic + ".dlq", 1)
    assert (copy.key, copy.value) == (b"TN-4", big)
    assert headers_of(copy)["error"] == b"type: Field required"


async def test_a_copy_the_broker_refuses_after_all_becomes_a_pointer_and_later_copies_still_work(
    infrastructure: Infrastructure, unique: str, dead_letters: DeadLetters, kafka: AIOKafkaProducer
) -> None:
    """The dead-letter topic's limit is lowered after the writer read it: the broker refuses the copy."""
    topic = f"dlq-test-shrunk-{unique}"
    admin = AIOKafkaAdminClient(
        bootstrap_servers=infrastructure.kafka_bootstrap_servers, **infrastructure.security().client_kwargs()
    )
    await admin.start()
    try:
        roomy = {"max.message.bytes": str(2 * KAFKA_DEFAULT_MAX_MESSAGE_BYTES)}
        await admin.create_topics([NewTopic(topic, 1, 1), NewTopic(topic + ".dlq", 1, 1, topic_configs=roomy)])
        await kafka.send_and_wait(topic, b"{}", key=b"TN-5")
        (first,) = await consumed(infrastructure, topic, 1)
        await dead_letters.send(first, GROUP, "type: Field required", "validation")  # the writer reads the limit
        default = {"max.message.bytes": str(KAFKA_DEFAULT_MAX_MESSAGE_BYTES)}
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic + ".dlq", default)])
    finally:
        await admin.close()
    big = b"x" * largest_value_the_topic_takes(b"TN-6")
    await kafka.send_and_wait(topic, big, key=b"TN-6")
    await kafka.send_and_wait(topic, b"[]", key=b"TN-7")
    _, original, small = await consumed(infrastructure, topic, 3)

    await asyncio.wait_for(dead_letters.send(original, GROUP, "type: Field required", "validation"), 60)
    await asyncio.wait_for(dead_letters.send(small, GROUP, "value must be a JSON object", "validation"), 30)

    _, pointer, copy = await consumed(infrastructure, topic + ".dlq", 3)
    assert headers_of(pointer)["value-omitted"] == b"true"
    assert headers_of(pointer)["original-offset"] == str(original.offset).encode()
    assert (copy.key, copy.value) == (b"TN-7", b"[]")
