"""Kafka authentication and per-topic ACLs on the project's own broker (issue 11, item 3).

Every client authenticates with its own SCRAM user; each service writes only its own topic (and the DLQs of what
it reads), reads only what it consumes, in its own consumer groups; the storefront, warehouse and carriers write
only their inbound topic. A forged `ShipmentDelivered` on `shipping.events.v1` — the issue's finding — is refused.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from shared.contracts.kafka_access import USERS
from shared.contracts.topics import ALL_TOPICS, ORDERS_EVENTS, SHIPPING_EVENTS, STOREFRONT_ORDERS
from shared.messaging.kafka_security import KafkaSecurity
from tests.integration.conftest import Infrastructure
from tests.kafka_probe import envelope, producer
from tests.kafka_users import local_users
from tests.processes import grant_prefix

pytestmark = pytest.mark.skipif(not local_users(), reason="needs the project's own broker, with its users and ACLs")

DELIVERED = envelope("ShipmentDelivered", {"order_id": "SO-FORGED", "shipment_id": "SH-FORGED"})


@pytest.fixture(scope="module")
def prefix(infrastructure: Infrastructure) -> str:
    """Topics, groups and ACLs of this module's own: the session's stack runs under the session prefix, with
    records on its topics and members in its groups, which would meet these tests'."""
    namespace = f"ka{uuid.uuid4().hex[:8]}."
    grant_prefix(infrastructure.kafka_bootstrap_servers, namespace)
    return namespace


@pytest.fixture
async def as_orders(infrastructure: Infrastructure) -> AsyncIterator[AIOKafkaProducer]:
    async with producer(infrastructure.kafka_bootstrap_servers, infrastructure.security("orders")) as client:
        yield client


async def refused_start(client: AIOKafkaProducer | AIOKafkaConsumer) -> BaseException:
    try:
        await asyncio.wait_for(client.start(), 20)
    except (KafkaError, TimeoutError) as error:
        return error
    finally:
        await client.stop()
    raise AssertionError("the broker accepted the client")


async def test_a_client_without_credentials_is_refused(infrastructure: Infrastructure) -> None:
    anonymous = AIOKafkaProducer(bootstrap_servers=infrastructure.kafka_bootstrap_servers, request_timeout_ms=5000)

    assert isinstance(await refused_start(anonymous), KafkaConnectionError)


async def test_a_client_with_a_wrong_password_is_refused(infrastructure: Infrastructure) -> None:
    orders = infrastructure.security("orders")
    impostor = KafkaSecurity(orders.protocol, orders.username, "not-the-password", orders.mechanism)
    client = AIOKafkaProducer(
        bootstrap_servers=infrastructure.kafka_bootstrap_servers, request_timeout_ms=5000, **impostor.client_kwargs()
    )

    error = await refused_start(client)

    assert "Authentication failed" in str(error) or isinstance(error, KafkaConnectionError)


async def test_a_service_cannot_write_another_services_topic(
    infrastructure: Infrastructure, prefix: str, as_orders: AIOKafkaProducer
) -> None:
    forged_on = prefix + SHIPPING_EVENTS.name

    with pytest.raises(TopicAuthorizationFailedError):
        await asyncio.wait_for(as_orders.send_and_wait(forged_on, DELIVERED, key=b"SO-FORGED"), 20)

    # Nothing reached the topic.
    assert await records_on(infrastructure, forged_on) == 0


async def test_a_service_writes_its_own_topic(
    infrastructure: Infrastructure, prefix: str, as_orders: AIOKafkaProducer
) -> None:
    topic = prefix + ORDERS_EVENTS.name

    sent = await asyncio.wait_for(as_orders.send_and_wait(topic, b"{}", key=b"SO-OWN"), 20)

    assert sent.offset >= 0


async def test_the_storefront_writes_only_storefront_orders(infrastructure: Infrastructure, prefix: str) -> None:
    async with producer(infrastructure.kafka_bootstrap_servers, infrastructure.security("storefront")) as storefront:
        placed = await storefront.send_and_wait(prefix + STOREFRONT_ORDERS.name, b"{}", key=b"SO-SF")
        assert placed.offset >= 0
        others = [t for topic in ALL_TOPICS for t in (topic.name, topic.dlq) if t != STOREFRONT_ORDERS.name]
        for name in others:
            with pytest.raises(TopicAuthorizationFailedError):
                await asyncio.wait_for(storefront.send_and_wait(prefix + name, b"{}", key=b"SO-SF"), 20)


async def test_each_outside_producer_writes_only_its_inbound_topic(infrastructure: Infrastructure, prefix: str) -> None:
    outside = [user for user in USERS if not user.is_service]
    assert {u.name for u in outside} == {"storefront", "warehouse", "carrier", "reviews"}
    for user in outside:
        (own,) = user.writes
        async with producer(infrastructure.kafka_bootstrap_servers, infrastructure.security(user.name)) as client:
            assert (await client.send_and_wait(prefix + own.name, b"{}", key=b"K")).offset >= 0
            with pytest.raises(TopicAuthorizationFailedError):
                await asyncio.wait_for(client.send_and_wait(prefix + ORDERS_EVENTS.name, b"{}", key=b"K"), 20)


async def test_a_service_consumes_its_topics_in_its_own_group(
    infrastructure: Infrastructure, prefix: str, as_orders: AIOKafkaProducer, unique: str
) -> None:
    event = envelope("OrderAccepted", {"order_id": f"SO-{unique}"})
    await as_orders.send_and_wait(prefix + ORDERS_EVENTS.name, event, key=f"SO-{unique}".encode())

    inventory = infrastructure.security("inventory")
    consumer = AIOKafkaConsumer(
        prefix + ORDERS_EVENTS.name,
        bootstrap_servers=infrastructure.kafka_bootstrap_servers,
        group_id=f"{prefix}inventory.processing",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **inventory.client_kwargs(),
    )
    await consumer.start()
    try:
        seen: list[bytes] = []
        for _ in range(40):
            batch = await consumer.getmany(timeout_ms=500)
            seen += [r.value for records in batch.values() for r in records if r.value is not None]
            if event in seen:
                break
        assert event in seen
        await consumer.commit()
    finally:
        await consumer.stop()


async def test_a_service_cannot_read_what_it_does_not_consume(infrastructure: Infrastructure, prefix: str) -> None:
    # Inventory never reads the storefront's orders (personal data) nor customer service's events.
    consumer = AIOKafkaConsumer(
        prefix + STOREFRONT_ORDERS.name,
        bootstrap_servers=infrastructure.kafka_bootstrap_servers,
        group_id=f"{prefix}inventory.processing",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **infrastructure.security("inventory").client_kwargs(),
    )
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await consumer.start()
            for _ in range(20):
                await consumer.getmany(timeout_ms=500)
    finally:
        await consumer.stop()


async def test_a_service_cannot_join_another_services_consumer_group(
    infrastructure: Infrastructure, prefix: str
) -> None:
    consumer = AIOKafkaConsumer(
        prefix + ORDERS_EVENTS.name,
        bootstrap_servers=infrastructure.kafka_bootstrap_servers,
        group_id=f"{prefix}shipping.processing",
        enable_auto_commit=False,
        **infrastructure.security("inventory").client_kwargs(),
    )
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            await consumer.start()
            for _ in range(20):
                await consumer.getmany(timeout_ms=500)
    finally:
        await consumer.stop()


async def records_on(infrastructure: Infrastructure, topic: str) -> int:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=infrastructure.kafka_bootstrap_servers, **infrastructure.security().client_kwargs()
    )
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(SHIPPING_EVENTS.partitions)])
        return sum(ends.values())
    finally:
        await consumer.stop()
