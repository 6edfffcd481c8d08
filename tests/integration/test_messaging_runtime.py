"""The shared consumer runtime and outbox relay on the real broker and store, with a minimal service."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event
from prometheus_client import generate_latest
from pydantic import Field

from shared.contracts.envelope import Contract
from shared.contracts.topics import Topic
from shared.messaging.broker import ensure_topics
from shared.messaging.inbox import Consumed, InboxApplication
from shared.messaging.outbound import Outbound
from shared.messaging.subscriptions import Subscription
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings
from tests.integration.conftest import Infrastructure
from tests.kafka_probe import envelope, producer, read_all


class CountedV1(Contract):
    counter: str = Field(pattern=r"^[a-z0-9-]+$")
    by: int = Field(ge=1)


class Counter(Aggregate):
    def __init__(self, name: str) -> None:
        self.name = name
        self.value = 0

    @staticmethod
    def create_id(name: str) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"counter:{name}")

    class Increased(Aggregate.Event):
        by: int

    @event(Increased)
    def increase(self, by: int) -> None:
        self.value += by


class CounterApplication(InboxApplication):
    def count(self, consumed: Consumed, payload: CountedV1) -> None:
        if self.already_consumed(consumed):
            return
        counter: Counter
        try:
            counter = self.repository.get(Counter.create_id(payload.counter))
        except Exception:
            counter = Counter(payload.counter)
        counter.increase(payload.by)
        self.save_consumed(consumed, counter)

    def value(self, name: str) -> int:
        try:
            counter: Counter = self.repository.get(Counter.create_id(name))
        except Exception:
            return 0
        return counter.value


IN = Topic("test.counts", key="counter", owner="test")
OUT = Topic("test.counters.v1", key="counter", owner="test")


def to_outbound(domain_event: object) -> Outbound | None:
    if isinstance(domain_event, Counter.Increased):
        return Outbound(
            OUT,
            key=str(domain_event.originator_id),
            type="CounterIncreased",
            data=CountedV1(counter="x", by=domain_event.by),
        )
    return None


async def eventually(check: Callable[[], Any], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


@pytest.fixture
async def counter_service(
    infrastructure: Infrastructure, unique: str
) -> AsyncIterator[tuple[ServiceRuntime, CounterApplication]]:
    settings = ServiceSettings(
        kafka_bootstrap_servers=infrastructure.kafka_bootstrap_servers,
        mongodb_url=infrastructure.mongodb_url,
        topic_prefix=f"{unique}.",
        database_prefix=f"{unique}_",
    )
    await ensure_topics(
        settings.kafka_bootstrap_servers, 2, 1, names=[IN.name, IN.dlq, OUT.name], prefix=settings.topic_prefix
    )
    runtime = ServiceRuntime.create("counters", settings)
    app = CounterApplication(env=runtime.event_store_env())
    subscription = Subscription(
        IN, {"Counted": CountedV1}, {"Counted": lambda m, c: app.count(c, m.data)}, dead_letters_unreadable=True
    )
    runtime.attach_event_log(app, [subscription], to_outbound)
    await runtime.start()
    yield runtime, app
    await runtime.stop()


async def test_a_redelivered_event_id_has_no_second_effect(
    counter_service: tuple[ServiceRuntime, CounterApplication], infrastructure: Infrastructure
) -> None:
    runtime, app = counter_service
    topic = runtime.settings.topic_prefix + IN.name
    event_id = str(uuid.uuid4())
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "a", "by": 2}, event_id), key=b"a")
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "a", "by": 2}, event_id), key=b"a")
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "a", "by": 3}), key=b"a")
    await eventually(lambda: app.value("a") >= 5)
    await asyncio.sleep(1.0)
    assert app.value("a") == 5


async def test_bad_messages_go_to_the_dlq_unchanged_and_the_partition_keeps_flowing(
    counter_service: tuple[ServiceRuntime, CounterApplication], infrastructure: Infrastructure
) -> None:
    runtime, app = counter_service
    topic = runtime.settings.topic_prefix + IN.name
    not_json = b'{"event_id": oops'
    bad_value = envelope("Counted", {"counter": "b", "by": 0})
    unknown_type = envelope("Subtracted", {"counter": "b", "by": 1})
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        for value in (not_json, bad_value, unknown_type):
            await kafka.send_and_wait(topic, value, key=b"b", partition=0, headers=[("traceparent", b"00-abc-def-01")])
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "b", "by": 7}), key=b"b", partition=0)
    await eventually(lambda: app.value("b") == 7)

    dead = await read_all(infrastructure.kafka_bootstrap_servers, topic + ".dlq", expect=3)
    assert [record.value for record in dead] == [not_json, bad_value, unknown_type]
    assert all(record.key == b"b" for record in dead)
    headers = [dict(record.headers) for record in dead]
    assert all(h["traceparent"] == b"00-abc-def-01" for h in headers)
    assert headers[0]["error-type"] == b"decoding" and b"not valid JSON" in headers[0]["error"]
    assert headers[1]["error"].startswith(b"data.by:")
    assert b"unknown event type 'Subtracted'" in headers[2]["error"]
    assert app.value("b") == 7  # nothing of the bad messages was stored


async def test_the_relay_publishes_the_log_in_order_and_resends_the_same_event_ids_after_losing_its_position(
    counter_service: tuple[ServiceRuntime, CounterApplication], infrastructure: Infrastructure
) -> None:
    runtime, _ = counter_service
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        for by in range(1, 6):
            await kafka.send_and_wait(
                runtime.settings.topic_prefix + IN.name, envelope("Counted", {"counter": "c", "by": by}), key=b"c"
            )
    out_topic = runtime.settings.topic_prefix + OUT.name
    published = await read_all(infrastructure.kafka_bootstrap_servers, out_topic, expect=5)
    assert [json.loads(r.value)["data"]["by"] for r in published] == [1, 2, 3, 4, 5]

    # A relay that lost its position (crash before saving it) publishes again, under the same event ids.
    assert runtime.relay is not None
    await runtime.relay.stop()
    await runtime.mongo[runtime.database]["outbox_relay"].delete_many({})
    await runtime.relay.start()
    again = await read_all(infrastructure.kafka_bootstrap_servers, out_topic, expect=10)
    ids = [json.loads(r.value)["event_id"] for r in again]
    assert len(ids) == 10 and ids[5:] == ids[:5]


async def test_a_dead_lettered_message_counts_in_the_dlq_metric_and_logs_one_line_with_the_reason(
    counter_service: tuple[ServiceRuntime, CounterApplication],
    infrastructure: Infrastructure,
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime, app = counter_service
    topic = runtime.settings.topic_prefix + IN.name
    caplog.set_level(logging.WARNING, logger="shared.messaging.consumer")
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "d", "by": -1}), key=b"d", partition=0)
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "d", "by": 1}), key=b"d", partition=0)
    await eventually(lambda: app.value("d") == 1)

    exposition = generate_latest(runtime.telemetry.registry).decode()
    (sample,) = [
        line for line in exposition.splitlines() if line.startswith("fulfillment_messages_dead_lettered_total{")
    ]
    assert f'topic="{topic}"' in sample and 'error_type="validation"' in sample and sample.endswith(" 1.0")
    lines = [r.getMessage() for r in caplog.records if "dead-lettered" in r.getMessage()]
    assert len(lines) == 1 and "data.by: Input should be greater than or equal to 1" in lines[0]
