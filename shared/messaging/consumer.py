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
import inspect
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord
from eventsourcing.persistence import IntegrityError, PersistenceError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from pymongo.errors import PyMongoError

from shared.contracts.envelope import InvalidMessage, parse_envelope, unknown_type, validate_payload
from shared.messaging.inbox import ConcurrentUpdate, Consumed
from shared.messaging.subscriptions import Subscription

log = logging.getLogger(__name__)

# Failures of our dependencies, not of the message: wait and try again, however long it takes.
TRANSIENT = (ConcurrentUpdate, PyMongoError, OSError, TimeoutError, PersistenceError)
UNEXPECTED_ERROR_ATTEMPTS = 3
MAX_BACKOFF_S = 5.0


@dataclass
class ConsumerCounters:
    handled: int = 0
    duplicates_skipped: int = 0
    dead_lettered: int = 0
    retries: int = 0


class MessageDispatcher:
    """Handles the records of one subscription (one topic, one consumer group)."""

    def __init__(
        self,
        broker: KafkaBroker,
        group_id: str,
        subscription: Subscription,
        on_stored: Callable[[], None] = lambda: None,
        counters: ConsumerCounters | None = None,
    ) -> None:
        self.broker = broker
        self.group_id = group_id
        self.subscription = subscription
        self.on_stored = on_stored
        self.counters = counters or ConsumerCounters()

    async def dispatch(self, record: ConsumerRecord[bytes, bytes]) -> None:
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
        try:
            message = validate_payload(envelope, sub.payload_types[envelope.type])
        except InvalidMessage as invalid:
            await self.dead_letter(record, invalid.reason, invalid.error_type)
            return
        consumed = Consumed(
            message_id=str(message.event_id),
            source=record.topic,
            tracking_name=f"{self.group_id}:{record.topic}#{record.partition}",
            # Tracking positions start at 1; Kafka offsets at 0.
            tracking_position=record.offset + 1,
        )
        if inspect.iscoroutinefunction(handler):
            await self._run(record, lambda: handler(message, consumed))
        else:
            await self._run(record, lambda: asyncio.to_thread(handler, message, consumed))

    async def _run(self, record: ConsumerRecord[bytes, bytes], call: Callable[[], Awaitable[Any]]) -> None:
        attempt = 0
        unexpected = 0
        while True:
            attempt += 1
            try:
                await call()
            except InvalidMessage as invalid:
                await self.dead_letter(record, invalid.reason, invalid.error_type)
                return
            except TRANSIENT as error:
                if isinstance(error, IntegrityError):
                    # Not a retry-able conflict that save_consumed recognised: a bug, treated as unexpected.
                    unexpected += 1
                    if unexpected >= UNEXPECTED_ERROR_ATTEMPTS:
                        await self.dead_letter(record, f"{type(error).__name__}: {error}", "handler_error")
                        return
                self.counters.retries += 1
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
                log.exception("handler failed on %s[%s]@%s", record.topic, record.partition, record.offset)
                if unexpected >= UNEXPECTED_ERROR_ATTEMPTS:
                    await self.dead_letter(record, f"{type(error).__name__}: {error}", "handler_error")
                    return
                await asyncio.sleep(0.2 * unexpected)
                continue
            self.counters.handled += 1
            self.on_stored()
            return

    async def dead_letter(self, record: ConsumerRecord[bytes, bytes], reason: str, error_type: str) -> None:
        """Copy the record unchanged (key, value, headers) to `<topic>.dlq`, adding why."""
        headers = {key: value.decode("utf-8", "replace") for key, value in record.headers or ()}
        headers.update(
            {
                "error": reason,
                "error-type": error_type,
                "error-consumer": self.group_id,
                "original-topic": record.topic,
                "original-partition": str(record.partition),
                "original-offset": str(record.offset),
            }
        )
        await self.broker.publish(record.value or b"", topic=record.topic + ".dlq", key=record.key, headers=headers)
        self.counters.dead_lettered += 1
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
    on_stored: Callable[[], None] = lambda: None,
    counters: ConsumerCounters | None = None,
    topic_prefix: str = "",
) -> list[MessageDispatcher]:
    """One consumer group per (service, topic), committing offsets only after the effect is stored."""
    dispatchers = []
    for subscription in subscriptions:
        topic = topic_prefix + subscription.topic.name
        dispatcher = MessageDispatcher(broker, f"{service}.{topic}", subscription, on_stored, counters)
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
        await dispatcher.dispatch(msg.raw_message)
