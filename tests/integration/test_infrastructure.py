"""The real broker and MongoDB-wire server the project starts are usable the way services use them."""

from __future__ import annotations

import asyncio
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

from shared.messaging.broker import create_broker, ensure_topics
from tests.integration.conftest import Infrastructure


async def test_a_message_published_on_a_real_topic_reaches_a_subscriber_in_another_group(
    infrastructure: Infrastructure, unique: str
) -> None:
    topic = f"test.roundtrip.{unique}"
    await ensure_topics(
        infrastructure.kafka_bootstrap_servers,
        partitions=1,
        replication_factor=1,
        names=[topic],
        security=infrastructure.security(),
    )
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    consumer_broker = KafkaBroker(
        infrastructure.kafka_bootstrap_servers, security=infrastructure.security().faststream()
    )

    @consumer_broker.subscriber(
        topic,
        group_id=f"test.consumer.{unique}",
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_message(body: dict[str, Any]) -> None:
        await received.put(body)

    producer_broker = create_broker(
        infrastructure.kafka_bootstrap_servers, client_id=f"test.producer.{unique}", security=infrastructure.security()
    )
    async with consumer_broker, producer_broker:
        await consumer_broker.start()
        await producer_broker.start()
        await producer_broker.publish({"order_id": "SO-1", "n": 1}, topic=topic, key=b"SO-1")
        body = await asyncio.wait_for(received.get(), timeout=30)

    assert body == {"order_id": "SO-1", "n": 1}


async def test_a_document_written_with_the_async_client_is_read_back(
    mongo: AsyncMongoClient[dict[str, Any]], unique: str
) -> None:
    db = mongo[f"test_{unique}"]
    try:
        await db.orders.insert_one({"_id": "SO-1", "lines": [{"sku": "A", "quantity": 2}]})
        assert await db.orders.find_one({"_id": "SO-1"}) == {
            "_id": "SO-1",
            "lines": [{"sku": "A", "quantity": 2}],
        }
    finally:
        await mongo.drop_database(db.name)
