"""The one consumer loop of every service: decode, validate, dead-letter, run the handler off the event
loop with retries, and only then let the offset be committed.

Per message:
- unreadable (not JSON, bad envelope, unknown type) → copied unchanged to `<topic>.dlq` by the topic's
  dead-lettering group, skipped by the others;
- a type this service handles but whose `data` is invalid, or a handler that says the message can never be
  processed (`InvalidMessage`) → DLQ with the reason; the partition moves on;
- transient failures (store or broker unreachable, optimistic-concurrency conflicts) → retried with backoff,
  without limit: the offset is not committed, so a crash or shutdown means redelivery, never loss;
- any other error → retried a few times, then dead-lettered with its type, so one bad message cannot stop
  the partition forever.
The handler stores its effect together with an inbox marker (shared/messaging/inbox.py), so redelivery is
harmless.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from eventsourcing.persistence import IntegrityError, PersistenceError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link
from pymongo.errors import PyMongoError

from shared.contracts.envelope import InvalidMessage, parse_envelope, unknown_type, validate_payload
from shared.messaging.dead_letters import DeadLetters
from shared.messaging.inbox import ConcurrentUpdate, Consumed
from shared.messaging.subscriptions import Subscription, run_handler
from shared.telemetry.logs import event_id_var, order_id_var
from shared.telemetry.providers import Telemetry
from shared.telemetry.trace_context import OrderTraces, context_of, current_traceparent

log = logging.getLogger(__name__)

# Failures of our dependencies, not of the message: wait and try again, however long it takes.
TRANSIENT = (ConcurrentUpdate, PyMongoError, OSError, TimeoutError, PersistenceError)
UNEXPECTED_ERROR_ATTEMPTS = 3
MAX_BACKOFF_S = 5.0


class MessageDispatcher:
    """Handles the records of one subscription (one topic, one consumer group)."""

    def __init__(
        self,
        dead_letters: DeadLetters,
        group_id: str,
        subscription: Subscription,
        telemetry: Telemetry,
        traces: OrderTraces | None = None,
        on_stored: Callable[[], None] = lambda: None,
    ) -> None:
        self.dead_letters = dead_letters
        self.group_id = group_id
        self.subscription = subscription
        self.telemetry = telemetry
        self.metrics = telemetry.metrics
        self.traces = traces
        self.on_stored = on_stored
        # Only keys of topics keyed by order id name an order; a sku key must not start an "order trace".
        self.keyed_by_order = subscription.topic.key == "order_id"

    async def dispatch(self, record: ConsumerRecord[bytes, bytes], consumer: AIOKafkaConsumer | None = None) -> None:
        if consumer is not None:
            self._record_lag(record, consumer)
        key = record.key.decode("utf-8", "replace") if record.key else None
        order_token = order_id_var.set(key if self.keyed_by_order else None)
        event_token = event_id_var.set(None)
        try:
            await self._dispatch(record, key)
        finally:
            order_id_var.reset(order_token)
            event_id_var.reset(event_token)

    async def _dispatch(self, record: ConsumerRecord[bytes, bytes], key: str | None) -> None:
        sub = self.subscription
        try:
            envelope = parse_envelope(record.value or b"")
            if envelope.type not in sub.payload_types:
                raise InvalidMessage(unknown_type(envelope.type, sub.payload_types))
        except InvalidMessage as unreadable:
            if sub.dead_letters_unreadable:
                await self.dead_letter(record, unreadable.reason, unreadable.error_type)
            return
        handler = sub.handlers.get(envelope.type)
        if handler is None:
            return  # a type of this topic that other services act on
        event_id_var.set(str(envelope.event_id))
        try:
            message = validate_payload(envelope, sub.payload_types[envelope.type])
        except InvalidMessage as invalid:
            await self.dead_letter(record, invalid.reason, invalid.error_type)
            return
        if order_id_var.get() is None and isinstance(getattr(message.data, "order_id", None), str):
            order_id_var.set(message.data.order_id)
        consumed = Consumed(
            message_id=str(message.event_id),
            source=record.topic,
            tracking_name=f"{self.group_id}:{record.topic}#{record.partition}",
            # Tracking positions start at 1; Kafka offsets at 0.
            tracking_position=record.offset + 1,
        )

        def call() -> Awaitable[None]:
            return run_handler(handler, message, consumed)

        parent, links = await self._order_trace(key)
        attributes = {"messaging.message.type": envelope.type, "messaging.message.id": str(envelope.event_id)}
        if order_id_var.get():
            attributes["order.id"] = str(order_id_var.get())
        with self.telemetry.tracer.start_as_current_span(
            f"handle {envelope.type}", context=parent, links=links, attributes=attributes
        ):
            # Remembered before the handler stores anything: the relay may publish its effects at once, and
            # must find the order's trace when it does.
            traceparent = current_traceparent()
            if self.traces and key and self.keyed_by_order and traceparent:
                await self.traces.remember(key, traceparent)
            await self._run(record, envelope.type, call)

    async def _order_trace(self, key: str | None) -> tuple[Context | None, list[Link]]:
        """Work on a known order runs in the order's trace, linked to the trace the message came with."""
        if self.traces is None or key is None:
            return None, []
        order_context = context_of(await self.traces.lookup(key))
        if order_context is None:
            return None, []
        incoming = trace.get_current_span().get_span_context()
        ordered = trace.get_current_span(order_context).get_span_context()
        if incoming.trace_id == ordered.trace_id:
            return None, []  # already continuing the order's trace
        return order_context, [Link(incoming)] if incoming.is_valid else []

    def _record_lag(self, record: ConsumerRecord[bytes, bytes], consumer: AIOKafkaConsumer) -> None:
        highwater = consumer.highwater(TopicPartition(record.topic, record.partition))
        if highwater is not None:
            self.metrics.record_lag(
                self.group_id, record.topic, record.partition, max(0, highwater - record.offset - 1)
            )

    async def _run(self, record: ConsumerRecord[bytes, bytes], type_: str, call: Callable[[], Awaitable[Any]]) -> bool:
        """True when the effect is stored; False when the message was dead-lettered instead."""
        attempt = 0
        unexpected = 0
        labels = {"topic": record.topic, "type": type_}
        while True:
            attempt += 1
            try:
                await call()
            except InvalidMessage as invalid:
                await self.dead_letter(record, invalid.reason, invalid.error_type)
                return False
            except TRANSIENT as error:
                self.metrics.handler_errors.add(1, {**labels, "error.type": type(error).__name__})
                if isinstance(error, IntegrityError):
                    # Not a retry-able conflict that save_consumed recognised: a bug, treated as unexpected.
                    unexpected += 1
                    if unexpected >= UNEXPECTED_ERROR_ATTEMPTS:
                        await self.dead_letter(record, f"{type(error).__name__}: {error}", "handler_error")
                        return False
                delay = min(MAX_BACKOFF_S, 0.05 * 2 ** min(attempt, 10)) * random.uniform(0.5, 1.0)
                log.warning(
                    "retrying %s[%s]@%s in %.2fs after %s: %s",
                    record.topic,
                    record.partition,
                    record.offset,
                    delay,
                    type(error).__name__,
                    error,
                )
                await asyncio.sleep(delay)
                continue
            except Exception as error:
                unexpected += 1
                self.metrics.handler_errors.add(1, {**labels, "error.type": type(error).__name__})
                log.exception("handler failed on %s[%s]@%s", record.topic, record.partition, record.offset)
                if unexpected >= UNEXPECTED_ERROR_ATTEMPTS:
                    await self.dead_letter(record, f"{type(error).__name__}: {error}", "handler_error")
                    return False
                await asyncio.sleep(0.2 * unexpected)
                continue
            self.metrics.consumed.add(1, {**labels, "group": self.group_id})
            self.on_stored()
            return True

    async def dead_letter(self, record: ConsumerRecord[bytes, bytes], reason: str, error_type: str) -> None:
        """Copy the record unchanged (key, value, headers) to `<topic>.dlq`, adding why."""
        await self.dead_letters.send(record, self.group_id, reason, error_type)
        self.metrics.dead_letters.add(1, {"topic": record.topic, "error.type": error_type})
        log.warning(
            "dead-lettered %s[%s]@%s to %s.dlq: %s (%s)",
            record.topic,
            record.partition,
            record.offset,
            record.topic,
            reason,
            error_type,
        )


def _raw_body(message: Any) -> bytes:
    # Keep the bytes as sent: decoding is ours, so that invalid JSON reaches the DLQ instead of failing here.
    return bytes(message.body)


def register_subscriptions(
    broker: KafkaBroker,
    service: str,
    subscriptions: Iterable[Subscription],
    dead_letters: DeadLetters,
    telemetry: Telemetry,
    traces: OrderTraces | None = None,
    on_stored: Callable[[], None] = lambda: None,
    topic_prefix: str = "",
) -> list[MessageDispatcher]:
    """One consumer group per (service, topic), committing offsets only after the effect is stored."""
    dispatchers = []
    for subscription in subscriptions:
        topic = topic_prefix + subscription.topic.name
        group_id = f"{service}.{topic}"
        dispatcher = MessageDispatcher(dead_letters, group_id, subscription, telemetry, traces, on_stored)
        dispatchers.append(dispatcher)
        _subscribe(broker, topic, dispatcher)
    return dispatchers


def _subscribe(broker: KafkaBroker, topic: str, dispatcher: MessageDispatcher) -> None:
    @broker.subscriber(
        topic,
        group_id=dispatcher.group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=_raw_body,
        title=f"{dispatcher.group_id}",
        description=f"Handles {', '.join(sorted(dispatcher.subscription.handlers))}",
    )
    async def on_message(body: bytes, msg: KafkaMessage) -> None:
        await dispatcher.dispatch(msg.raw_message, getattr(msg, "consumer", None))
