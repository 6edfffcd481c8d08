"""The shared consumer runtime and outbox relay on the real broker and store, with a minimal service."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import OperationalError
from prometheus_client import generate_latest
from pydantic import Field
from pymongo.errors import AutoReconnect

from shared.contracts.envelope import Contract, InvalidMessage
from shared.contracts.topics import Topic
from shared.eventstore.commitlog import LogMoved
from shared.messaging.application import Delivery, ServiceApplication
from shared.messaging.broker import ensure_topics
from shared.messaging.logs import LogSet
from shared.messaging.outbound import Outbound
from shared.messaging.relay import LogRelay
from shared.messaging.subscriptions import Subscription
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings
from tests.integration.conftest import Infrastructure
from tests.kafka_probe import envelope, producer, read_all


class CountedV1(Contract):
    counter: str = Field(pattern=r"^[a-z0-9-]+$")
    by: int = Field(ge=1)


class NotedV1(Contract):
    """Asks for a note of `kib` KiB on the counter: big enough, it cannot be stored (a deterministic failure)."""

    counter: str = Field(pattern=r"^[a-z0-9-]+$")
    kib: int = Field(ge=1)


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

    class Noted(Aggregate.Event):
        note: str

    @event(Noted)
    def add_note(self, note: str) -> None:
        self.last_note = note


class CounterApplication(ServiceApplication):
    def count(self, payload: CountedV1) -> None:
        counter = self.counter(payload.counter)
        counter.increase(payload.by)
        self.stage(counter)

    def note(self, payload: NotedV1) -> None:
        counter = self.counter(payload.counter)
        counter.add_note("n" * payload.kib * 1024)
        self.stage(counter)

    def counter(self, name: str) -> Counter:
        found: Counter | None = self.find(Counter.create_id(name))
        return found or Counter(name)

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


Service = tuple[ServiceRuntime, CounterApplication, LogSet[CounterApplication]]


@asynccontextmanager
async def group_offsets(infrastructure: Infrastructure, group: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer of the service's group that only reads or sets its committed offsets (it joins no group)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=infrastructure.kafka_bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        **infrastructure.security().client_kwargs(),
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


def counter_settings(infrastructure: Infrastructure, unique: str) -> ServiceSettings:
    return ServiceSettings(
        kafka_bootstrap_servers=infrastructure.kafka_bootstrap_servers,
        mongodb_url=infrastructure.mongodb_url,
        topic_prefix=f"{unique}.",
        database_prefix=f"{unique}_",
        topic_partitions=2,
        stuck_after_s=1.0,
        **infrastructure.kafka_settings(),
    )


async def start_counter_service(settings: ServiceSettings) -> Service:
    runtime = ServiceRuntime.create("counters", settings)

    def subscriptions(app: CounterApplication) -> list[Subscription]:
        handlers = {"Counted": lambda m: app.count(m.data), "Noted": lambda m: app.note(m.data)}
        return [Subscription(IN, {"Counted": CountedV1, "Noted": NotedV1}, handlers, dead_letters_unreadable=True)]

    logs = runtime.event_logs(lambda env: CounterApplication(env=env), subscriptions, to_outbound, logs=1)
    await runtime.start()
    return runtime, logs.reader(), logs


@pytest.fixture
async def counter_service(infrastructure: Infrastructure, unique: str) -> AsyncIterator[Service]:
    settings = counter_settings(infrastructure, unique)
    await ensure_topics(
        settings.kafka_bootstrap_servers,
        2,
        1,
        names=[IN.name, IN.dlq, OUT.name],
        prefix=settings.topic_prefix,
        security=infrastructure.security(),
    )
    service = await start_counter_service(settings)
    yield service
    await service[0].stop()


async def test_a_redelivered_event_id_has_no_second_effect(
    counter_service: Service, infrastructure: Infrastructure
) -> None:
    runtime, app, _ = counter_service
    topic = runtime.settings.topic_prefix + IN.name
    event_id = str(uuid.uuid4())
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "a", "by": 2}, event_id), key=b"a")
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "a", "by": 2}, event_id), key=b"a")
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "a", "by": 3}), key=b"a")
    await eventually(lambda: app.value("a") >= 5)
    await asyncio.sleep(1.0)
    assert app.value("a") == 5


async def test_a_commit_by_another_writer_is_taken_in_even_after_a_read_saw_it_first(
    counter_service: Service, infrastructure: Infrastructure
) -> None:
    """The owner's next batch must build on another writer's commit (an HTTP command on another replica, a
    process that has not noticed it lost the log), even when one of the owner's reads (a relay catching up, the
    backlog gauge) has already seen that commit: else the owner writes versions the other commit holds."""
    runtime, app, logs = counter_service
    topic = runtime.settings.topic_prefix + IN.name
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "f", "by": 1}), key=b"f")
        await eventually(lambda: app.value("f") == 1)

        # Another process's writer of the same log adds 10.
        other = CounterApplication(env=runtime.event_store_env(runtime.name))
        other.recorder.log.take_in(other.recorder.log.refresh_head())  # type: ignore[attr-defined]
        other.process([Delivery(str(uuid.uuid4()), lambda: other.count(CountedV1(counter="f", by=10)))])
        # The owner's writer reads the newest head (what the relay and the backlog gauge do).
        await asyncio.to_thread(logs.writer().recorder.max_notification_id)

        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "f", "by": 100}), key=b"f")
    await eventually(lambda: app.value("f") == 111)
    versions = [e.originator_version for e in app.events.get(Counter.create_id("f"))]
    assert versions == list(range(1, len(versions) + 1)) and len(versions) == 4  # created, +1, +10, +100
    other.close()


async def test_a_new_owner_waits_for_a_batch_still_running_from_before_and_that_batch_cannot_commit_over_it(
    counter_service: Service, infrastructure: Infrastructure
) -> None:
    """A batch whose task was cancelled when its log was revoked keeps running in its thread. Loading the log again
    meanwhile (the next assignment) must wait for it: else the load moves the fence under the old batch, which then
    commits on state older than the log (a big chaos run found a stock item's versions written twice this way)."""
    runtime, app, logs = counter_service
    writer, worker = logs.writer(), logs.workers[0]
    topic = runtime.settings.topic_prefix + IN.name
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "z", "by": 1}), key=b"z")
        await eventually(lambda: app.value("z") == 1)
        entered, release = threading.Event(), threading.Event()

        def slow_batch() -> None:
            writer.count(CountedV1(counter="z", by=10))
            entered.set()
            release.wait(30)

        old_batch = asyncio.ensure_future(asyncio.to_thread(writer.process, [Delivery(str(uuid.uuid4()), slow_batch)]))
        await asyncio.to_thread(entered.wait, 30)
        # While it runs, the log moves on: another process's writer adds 100.
        other = CounterApplication(env=runtime.event_store_env(runtime.name))
        other.recorder.log.take_in(other.recorder.log.refresh_head())  # type: ignore[attr-defined]
        await asyncio.to_thread(
            other.process, [Delivery(str(uuid.uuid4()), lambda: other.count(CountedV1(counter="z", by=100)))]
        )
        load = asyncio.ensure_future(asyncio.to_thread(worker._load))
        await asyncio.sleep(0.5)
        assert not load.done(), "the log was loaded again while a batch of the previous ownership still ran"
        release.set()
        with pytest.raises(LogMoved):
            await old_batch  # built on the log before the other writer's commit: refused, not written over it
        await load
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "z", "by": 1000}), key=b"z")
    await eventually(lambda: app.value("z") == 1101)
    versions = [e.originator_version for e in app.events.get(Counter.create_id("z"))]
    assert versions == [1, 2, 3, 4]  # created, +1, +100, +1000: each version once
    other.close()


async def _count_with_a_fault_on_the_second(
    service: Service, infrastructure: Infrastructure, counter: str, arm_fault: Callable[[], list[int]]
) -> None:
    """Counts 1, then (with the fault armed) 10, then 100; the counter must end at 111 with each version once, and
    each increase published once."""
    runtime, app, _ = service
    topic = runtime.settings.topic_prefix + IN.name
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": counter, "by": 1}), key=counter.encode())
        await eventually(lambda: app.value(counter) == 1)
        faults = arm_fault()
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": counter, "by": 10}), key=counter.encode())
        await eventually(lambda: faults)
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": counter, "by": 100}), key=counter.encode())
    await eventually(lambda: app.value(counter) >= 111)
    versions = [e.originator_version for e in app.events.get(Counter.create_id(counter))]
    assert versions == [1, 2, 3, 4]  # created, +1, +10, +100: each once
    assert app.value(counter) == 111
    published = await read_all(
        infrastructure.kafka_bootstrap_servers, runtime.settings.topic_prefix + OUT.name, expect=4, within=5.0
    )
    assert [json.loads(r.value)["data"]["by"] for r in published] == [1, 10, 100]


async def test_a_commit_stored_before_the_store_failed_its_projection_is_built_on_not_run_again(
    counter_service: Service, infrastructure: Infrastructure, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store can fail between a commit's insert and the write of its stream pages (a FerretDB restart did in a
    chaos run). The commit stands, so its batch is done: failing it ran the batch again on state without it, which
    wrote a stock item's version twice and lost a backorder."""
    commit_log = counter_service[2].writers[0].recorder.log  # type: ignore[attr-defined]
    real_project = commit_log._project_bulk

    def arm() -> list[int]:
        failed: list[int] = []

        def project_then_fail(commit: Any, *, checkpoint: bool = True, defer: bool = False) -> None:
            if failed:
                real_project(commit, checkpoint=checkpoint, defer=defer)
                return
            real_project(commit, checkpoint=checkpoint, defer=True)  # its pages stay pending: not written
            failed.append(commit.position.number)
            raise AutoReconnect("connection closed (simulated store restart)")

        monkeypatch.setattr(commit_log, "_project_bulk", project_then_fail)
        return failed

    await _count_with_a_fault_on_the_second(counter_service, infrastructure, "p", arm)


async def test_a_batch_that_fails_after_its_commit_is_not_applied_twice(
    counter_service: Service, infrastructure: Infrastructure, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever fails once a batch may be stored (here the step after the commit), the writer cannot tell whether
    it was: it reloads the log before the next batch, so the batch run again finds its own commit (positions,
    aggregates) and its events are published from the log."""
    writer = counter_service[2].writers[0]
    real_notify = writer._notify

    def arm() -> list[int]:
        failed: list[int] = []

        def notify_then_fail(recordings: Any) -> None:
            if failed:
                real_notify(recordings)
                return
            failed.append(len(recordings))
            raise OperationalError("the store does not answer (simulated)")

        monkeypatch.setattr(writer, "_notify", notify_then_fail)
        return failed

    await _count_with_a_fault_on_the_second(counter_service, infrastructure, "q", arm)


class ClaimingApplication(CounterApplication):
    def claim(self, name: str) -> None:
        counter = self.counter(name)
        if counter.value:
            raise InvalidMessage(f"counter {name!r} is already claimed")
        counter.increase(1)
        self.stage(counter)


async def test_a_refusal_made_on_state_another_writer_has_changed_is_not_dead_lettered(
    counter_service: Service,
) -> None:
    """A copy of a message another writer (a process that has not noticed it lost the log) has just applied: the
    state this writer reads already shows its effect, its inbox does not know its id yet. Refused as one too many,
    it would go to the DLQ, which cannot be taken back (a chaos run dead-lettered a valid duplicate ReturnReceived
    so); the batch first finds the log moved, and runs again once it has taken the other commit in."""
    runtime, _, _ = counter_service
    env = runtime.event_store_env("claims")
    owner, zombie = ClaimingApplication(env=env), ClaimingApplication(env=env)
    for app in (owner, zombie):
        commit_log = app.recorder.log  # type: ignore[attr-defined]
        commit_log.defer_projection = True
        commit_log.take_in(commit_log.refresh_head())
    message_id = str(uuid.uuid4())
    zombie.process([Delivery(message_id, lambda: zombie.claim("c"))])
    zombie.recorder.log.checkpoint()  # type: ignore[attr-defined]  # its pages are stored: others read the claim
    dead_lettered: list[Any] = []
    with pytest.raises(LogMoved):
        owner.process([Delivery(message_id, lambda: owner.claim("c"))], before_commit=dead_lettered.extend)
    assert dead_lettered == []
    owner.close()
    zombie.close()


async def test_bad_messages_go_to_the_dlq_unchanged_and_the_partition_keeps_flowing(
    counter_service: Service, infrastructure: Infrastructure
) -> None:
    runtime, app, _ = counter_service
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


async def test_records_read_again_from_the_start_change_nothing_and_are_not_dead_lettered_again(
    counter_service: Service, infrastructure: Infrastructure
) -> None:
    runtime, app, _ = counter_service
    settings = runtime.settings
    topic = settings.topic_prefix + IN.name
    poison = envelope("Counted", {"counter": "r", "by": 0})
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "r", "by": 5}), key=b"r", partition=0)
        await kafka.send_and_wait(topic, poison, key=b"r", partition=0)  # the partition's last record
    assert [r.value for r in await read_all(infrastructure.kafka_bootstrap_servers, topic + ".dlq", expect=1)] == [
        poison
    ]
    await eventually(lambda: app.value("r") == 5)
    await runtime.stop()

    # The group's Kafka offsets are lost (a commit lost to a rebalance or a crash, an operator's reset): the
    # partition is read again from its first record.
    async with group_offsets(infrastructure, runtime.group_id("processing")) as rewind:
        rewind.assign([TopicPartition(topic, 0)])
        await rewind.commit({TopicPartition(topic, 0): 0})

    again, app_again, _ = await start_counter_service(settings)
    try:
        async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
            await kafka.send_and_wait(topic, envelope("Counted", {"counter": "r", "by": 1}), key=b"r", partition=0)
        await eventually(lambda: app_again.value("r") == 6)  # read after the two old ones: those came first
        dead = await read_all(infrastructure.kafka_bootstrap_servers, topic + ".dlq", expect=2, within=3.0)
        assert [record.value for record in dead] == [poison]  # one copy: its position was stored with the commit
        assert app_again.value("r") == 6  # and the first record had no second effect
    finally:
        await again.stop()


async def test_the_relay_publishes_the_log_in_order_and_resends_the_same_event_ids_after_losing_its_position(
    counter_service: Service, infrastructure: Infrastructure
) -> None:
    runtime, _, logs = counter_service
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        for by in range(1, 6):
            await kafka.send_and_wait(
                runtime.settings.topic_prefix + IN.name, envelope("Counted", {"counter": "c", "by": by}), key=b"c"
            )
    out_topic = runtime.settings.topic_prefix + OUT.name
    published = await read_all(infrastructure.kafka_bootstrap_servers, out_topic, expect=5)
    assert [json.loads(r.value)["data"]["by"] for r in published] == [1, 2, 3, 4, 5]

    # A relay that lost its position (crash before saving it) publishes again, under the same event ids.
    positions = runtime.mongo[runtime.database]["outbox_relay"]
    await logs.relays[0].save_position()
    await positions.delete_many({})
    owner = logs.relays[0]
    fresh = LogRelay(owner.name, owner.app, to_outbound, runtime.broker, positions, runtime.telemetry,
                     topic_prefix=runtime.settings.topic_prefix)  # fmt: skip
    await fresh.catch_up()
    again = await read_all(infrastructure.kafka_bootstrap_servers, out_topic, expect=10)
    ids = [json.loads(r.value)["event_id"] for r in again]
    assert len(ids) == 10 and ids[5:] == ids[:5]


async def test_a_busy_log_saves_how_far_its_relay_got_without_waiting_to_be_idle(
    counter_service: Service, infrastructure: Infrastructure
) -> None:
    # A message every 0.2 s: the log is never idle for the second that would let it save its position then. Had
    # it saved only when idle, a kill -9 now would make the next owner send all of it again.
    runtime, _, logs = counter_service
    positions = runtime.mongo[runtime.database]["outbox_relay"]
    relay = logs.relays[0]
    stored_while_busy = 0
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        for _ in range(20):
            await kafka.send_and_wait(
                runtime.settings.topic_prefix + IN.name, envelope("Counted", {"counter": "b", "by": 1}), key=b"b"
            )
            await asyncio.sleep(0.2)
            saved = await positions.find_one({"_id": relay.name})
            stored_while_busy = int(saved["position"]) if saved else 0

    assert stored_while_busy >= 10  # of 20, published at 5 a second, saved at least every relay.SAVE_EVERY_S
    assert stored_while_busy <= relay.position


async def test_a_dead_lettered_message_counts_in_the_dlq_metric_and_logs_one_line_with_the_reason(
    counter_service: Service,
    infrastructure: Infrastructure,
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime, app, _ = counter_service
    topic = runtime.settings.topic_prefix + IN.name
    caplog.set_level(logging.WARNING, logger="shared.messaging.consumer")
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "d", "by": -1}), key=b"d", partition=0)
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "d", "by": 1}), key=b"d", partition=0)
    await eventually(lambda: app.value("d") == 1)

    def dead_lettered() -> list[str]:
        exposition = generate_latest(runtime.telemetry.registry).decode()
        return [
            line for line in exposition.splitlines() if line.startswith("fulfillment_messages_dead_lettered_total{")
        ]

    # Counted once the DLQ copy is confirmed, which may come after the valid message's effect is stored.
    await eventually(lambda: bool(dead_lettered()))
    (sample,) = dead_lettered()
    assert f'topic="{topic}"' in sample and 'error_type="validation"' in sample and sample.endswith(" 1.0")
    lines = [r.getMessage() for r in caplog.records if "dead-lettered" in r.getMessage()]
    assert len(lines) == 1 and "data.by: Input should be greater than or equal to 1" in lines[0]


async def test_a_record_whose_effect_cannot_be_stored_goes_to_the_dlq_and_the_partition_moves_on(
    counter_service: Service, infrastructure: Infrastructure
) -> None:
    runtime, app, _ = counter_service
    topic = runtime.settings.topic_prefix + IN.name
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "e", "by": 1}), key=b"e", partition=1)
        # A 17 MiB note: over MongoDB's 16 MiB document limit, whatever the store does.
        await kafka.send_and_wait(topic, envelope("Noted", {"counter": "e", "kib": 17 * 1024}), key=b"e", partition=1)
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "e", "by": 2}), key=b"e", partition=1)
    await eventually(lambda: app.value("e") == 3)

    (dead,) = await read_all(infrastructure.kafka_bootstrap_servers, topic + ".dlq", expect=1)
    headers = dict(dead.headers)
    assert headers["error-type"] == b"processing_error"
    assert b"16 MiB" in headers["error"] and json.loads(dead.value)["type"] == "Noted"


async def test_a_log_that_cannot_store_is_reported_by_ready_and_recovers(
    counter_service: Service, infrastructure: Infrastructure, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, app, logs = counter_service
    writer = logs.writers[0]
    real_process = writer.process

    def store_down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("the store does not answer (simulated)")

    monkeypatch.setattr(writer, "process", store_down)
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        await kafka.send_and_wait(
            runtime.settings.topic_prefix + IN.name, envelope("Counted", {"counter": "f", "by": 4}), key=b"f"
        )

    async def reason() -> str | None:
        return await runtime.processing_unready()

    deadline = time.monotonic() + 30
    while (found := await reason()) is None:
        assert time.monotonic() < deadline, "a stuck log was never reported"
        await asyncio.sleep(0.2)
    assert "has not moved" in found and "simulated" in found

    monkeypatch.setattr(writer, "process", real_process)
    await eventually(lambda: app.value("f") == 4)
    # The report clears once the batch in hand is through (stored, then published), not at the store's write.
    deadline = time.monotonic() + 30
    while (found := await reason()) is not None and time.monotonic() < deadline:  # noqa: ASYNC110 - polling
        await asyncio.sleep(0.2)
    assert found is None


async def test_header_values_that_are_not_text_neither_drop_nor_stall_a_message(
    counter_service: Service, infrastructure: Infrastructure
) -> None:
    runtime, app, _ = counter_service
    topic = runtime.settings.topic_prefix + IN.name
    odd_headers = [("x-binary", b"\xff\xfe\xfd"), ("x-null", None)]
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        valid = envelope("Counted", {"counter": "g", "by": 2})
        invalid = envelope("Counted", {"counter": "g", "by": 0})
        await kafka.send_and_wait(topic, valid, key=b"g", partition=0, headers=odd_headers)
        await kafka.send_and_wait(topic, invalid, key=b"g", partition=0, headers=odd_headers)
        await kafka.send_and_wait(topic, envelope("Counted", {"counter": "g", "by": 3}), key=b"g", partition=0)
    await eventually(lambda: app.value("g") == 5)

    (dead,) = await read_all(infrastructure.kafka_bootstrap_servers, topic + ".dlq", expect=1)
    assert dead.value == invalid
    assert ("x-binary", b"\xff\xfe\xfd") in list(dead.headers) and dict(dead.headers)["error"].startswith(b"data.by")


async def test_a_recreated_topic_is_refused_loudly_not_skipped(infrastructure: Infrastructure, unique: str) -> None:
    """Positions are Kafka offsets: after a topic is recreated, new records sit below the stored position. The log
    must say so and process nothing, rather than skip them as already seen."""
    settings = ServiceSettings(
        kafka_bootstrap_servers=infrastructure.kafka_bootstrap_servers,
        mongodb_url=infrastructure.mongodb_url,
        topic_prefix=f"{unique}.",
        database_prefix=f"{unique}_",
        topic_partitions=1,
        **infrastructure.kafka_settings(),
    )
    topic = settings.topic_prefix + IN.name
    bootstrap = settings.kafka_bootstrap_servers
    await ensure_topics(
        bootstrap,
        1,
        1,
        names=[IN.name, IN.dlq, OUT.name],
        prefix=settings.topic_prefix,
        security=infrastructure.security(),
    )

    def start() -> tuple[ServiceRuntime, LogSet[CounterApplication]]:
        runtime = ServiceRuntime.create("counters", settings)

        def subscriptions(app: CounterApplication) -> list[Subscription]:
            return [Subscription(IN, {"Counted": CountedV1}, {"Counted": lambda m: app.count(m.data)})]

        return runtime, runtime.event_logs(lambda env: CounterApplication(env=env), subscriptions, to_outbound, logs=1)

    runtime, logs = start()
    await runtime.start()
    async with producer(bootstrap) as kafka:
        for by in (1, 1, 1):
            await kafka.send_and_wait(topic, envelope("Counted", {"counter": "h", "by": by}), key=b"h")
    await eventually(lambda: logs.reader().value("h") == 3)
    await runtime.stop()

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **infrastructure.security().client_kwargs())
    await admin.start()
    try:
        await admin.delete_topics([topic])
        await asyncio.sleep(2)
    finally:
        await admin.close()
    await ensure_topics(
        bootstrap, 1, 1, names=[IN.name], prefix=settings.topic_prefix, security=infrastructure.security()
    )

    runtime, logs = start()
    await runtime.start()
    try:
        async with producer(bootstrap) as kafka:
            await kafka.send_and_wait(topic, envelope("Counted", {"counter": "h", "by": 10}), key=b"h")
        deadline = time.monotonic() + 30
        while (reason := await runtime.processing_unready()) is None:
            assert time.monotonic() < deadline, "a recreated topic was never reported"
            await asyncio.sleep(0.2)
        assert "recreated or its offsets reset" in reason
        await asyncio.sleep(2)
        assert logs.reader().value("h") == 3  # nothing below the old position was taken for already seen
    finally:
        await runtime.stop()


async def test_offsets_reach_kafka_in_few_commits_once_stored_and_a_restart_applies_nothing_twice(
    counter_service: Service, infrastructure: Infrastructure
) -> None:
    """Kafka's committed offsets follow what the log stored, a commit request at most every COMMIT_EVERY_S (and at
    once when the log goes idle or is let go), not one per batch: records sent one by one are batches of one."""
    runtime, app, _ = counter_service
    topic = runtime.settings.topic_prefix + IN.name
    consumer = runtime.consumers[0]
    kafka_consumer = consumer._consumer
    assert kafka_consumer is not None
    commits: list[dict[TopicPartition, Any]] = []
    commit = kafka_consumer.commit

    async def counted_commit(offsets: dict[TopicPartition, Any]) -> None:
        commits.append(offsets)
        await commit(offsets)

    kafka_consumer.commit = counted_commit
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        for n in range(30):
            await kafka.send_and_wait(topic, envelope("Counted", {"counter": "k", "by": 1}), key=b"k", partition=0)
            await eventually(lambda: app.value("k") == n + 1)  # noqa: B023 (awaited within the iteration)

    async def committed() -> int | None:
        async with group_offsets(infrastructure, runtime.group_id("processing")) as probe:
            return await probe.committed(TopicPartition(topic, 0))  # type: ignore[no-any-return]

    deadline = time.monotonic() + 10
    while await committed() != 30:  # committed once the log is idle (a second), whatever the interval
        assert time.monotonic() < deadline, f"committed offset {await committed()}, 30 records stored"
        await asyncio.sleep(0.2)
    assert 1 <= len(commits) < 30 / 2, f"{len(commits)} commit requests for 30 batches"
    await runtime.stop()

    again, app_again, _ = await start_counter_service(runtime.settings)
    try:
        async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
            await kafka.send_and_wait(topic, envelope("Counted", {"counter": "k", "by": 1}), key=b"k", partition=0)
        await eventually(lambda: app_again.value("k") == 31)
        await asyncio.sleep(1.0)
        assert app_again.value("k") == 31
    finally:
        await again.stop()
