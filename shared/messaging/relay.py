"""Outbox relay: each event log is its service's outbox. The owner of a log publishes what every batch
committed, from memory and in log order, with one producer flush per batch, and remembers how far it got.

At least once on the wire: the position is saved lazily (when the log is idle, on revocation, and at least every
SAVE_EVERY_S while it is busy), so a crash re-sends the tail under the same `event_id`s (derived from aggregate id
and version), which consumers recognise as already processed. A new owner first publishes what was committed
after the saved position. An event the service's outbound mapping cannot turn into a message is logged and
counted, and the stream moves on (it is in the event log for good; nothing downstream could read it either).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from faststream.kafka import KafkaBroker
from opentelemetry.trace import SpanKind
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.contracts.envelope import encode, encode_raw
from shared.messaging.outbound import DeadLetter, Outbound
from shared.telemetry.providers import Telemetry
from shared.telemetry.trace_context import OrderTraces, context_of, current_traceparent

log = logging.getLogger(__name__)

EVENT_ID_NAMESPACE = uuid5(NAMESPACE_URL, "urn:fulfillment:event")
# One domain event may be published as several messages (e.g. an order accepted and its reservation request).
Published = Outbound | DeadLetter
ToOutbound = Callable[[Any], Published | Iterable[Published] | None]
CATCH_UP_PAGE = 500
# How long a busy owner goes on without saving its position. Saved only when idle, a log busy for minutes had
# minutes of events to send again after a kill -9, and consumers recognise a copy by its id only while they
# remember it (their inbox; a restarted one loads the ids of its last commits): a 6,000-order chaos run had 275
# orders reserved and shipped twice from inventory's re-sent reservations. One small update a second per log.
SAVE_EVERY_S = 1.0


def published_event_id(event: DomainEventProtocol[Any], index: int = 0) -> UUID:
    """Stable across re-sends, unique per published message."""
    suffix = f":{index}" if index else ""
    return uuid5(EVENT_ID_NAMESPACE, f"{event.originator_id}:{event.originator_version}{suffix}")


def outbound_messages(result: Published | Iterable[Published] | None) -> list[Published]:
    if result is None:
        return []
    if isinstance(result, Outbound | DeadLetter):
        return [result]
    return list(result)


class LogRelay:
    def __init__(
        self,
        name: str,
        app: Application[Any],
        to_outbound: ToOutbound,
        broker: KafkaBroker,
        positions: AsyncCollection[dict[str, Any]],
        telemetry: Telemetry,
        traces: OrderTraces | None = None,
        observers: Sequence[Callable[[Any], None]] = (),
        topic_prefix: str = "",
    ) -> None:
        self.name = name
        self.app = app
        self.to_outbound = to_outbound
        self.broker = broker
        self.positions = positions
        self.telemetry = telemetry
        self.traces = traces
        # Told of every stored event in log order (metrics derived from the log, e.g. order stage durations).
        self.observers = tuple(observers)
        self.topic_prefix = topic_prefix
        self.position = 0
        self._saved = 0
        self._saved_at = time.monotonic()
        self.published = 0
        self.unmappable = 0
        self.backlog_estimate = 0

    async def catch_up(self) -> None:
        """Publish everything committed after the saved position (a new owner, or others' commits)."""
        if self._saved == 0 and self.position == 0:
            document = await self.positions.find_one({"_id": self.name})
            self.position = self._saved = int(document["position"]) if document else 0
        while True:
            notifications = await asyncio.to_thread(
                self.app.recorder.select_notifications, self.position + 1, CATCH_UP_PAGE
            )
            if not notifications:
                return
            self.backlog_estimate = len(notifications)
            events = [self.app.mapper.to_domain_event(n) for n in notifications]
            await self._send(events)
            self.position = notifications[-1].id
            if len(notifications) < CATCH_UP_PAGE:
                self.backlog_estimate = 0
                await self.save_position()
                return
            await self._save_if_due()

    async def publish(self, events: Sequence[Any], notification_ids: Sequence[int]) -> None:
        """A batch just committed by this owner: publish it, after anything before it not yet published."""
        if not notification_ids:
            return
        if notification_ids[0] != self.position + 1:
            await self.catch_up()  # someone else's commits came first
            return
        await self._send(events)
        self.position = notification_ids[-1]
        await self._save_if_due()

    async def _save_if_due(self) -> None:
        if time.monotonic() - self._saved_at < SAVE_EVERY_S:
            return
        try:
            await self.save_position()
        except PyMongoError as error:  # what was published stays published: the next save catches up
            log.warning("relay %s: position %d not saved: %s", self.name, self.position, error)

    async def save_position(self) -> None:
        if self.position > self._saved:
            raise_to = {"$max": {"position": self.position}}
            try:
                await self.positions.update_one({"_id": self.name}, raise_to, upsert=True)
            except DuplicateKeyError:
                # An old and a new owner saving the first position at once: FerretDB fails one upsert instead of
                # updating; the document exists now.
                await self.positions.update_one({"_id": self.name}, raise_to)
            self._saved = self.position
        self._saved_at = time.monotonic()

    async def backlog(self) -> int:
        newest = await asyncio.to_thread(self.app.recorder.max_notification_id)
        return max(0, (newest or 0) - self.position)

    async def _send(self, events: Sequence[Any]) -> None:
        pending = []
        for event in events:
            for observe in self.observers:
                observe(event)
            try:
                messages = outbound_messages(self.to_outbound(event))
            except Exception:
                self.unmappable += 1
                self.telemetry.metrics.handler_errors.add(1, {"topic": "relay", "error.type": "unmappable_event"})
                log.exception("%s: cannot map %s v%s to a message; skipped", self.name, type(event).__qualname__,
                              event.originator_version)  # fmt: skip
                continue
            for index, outbound in enumerate(messages):
                if isinstance(outbound, DeadLetter):
                    pending.append(await self._dead_letter(event, index, outbound))
                else:
                    pending.append(await self._enqueue(event, index, outbound))
        # Enqueued one by one in log order (per-key order on the wire), confirmed together.
        await asyncio.gather(*pending)
        self.published += len(pending)

    async def _enqueue(self, event: Any, index: int, outbound: Outbound) -> asyncio.Future[Any]:
        """Enqueue one message, in the trace of the order it is about (when this service knows it)."""
        known = self.traces.known(outbound.trace_key or outbound.key) if self.traces else None
        topic = self.topic_prefix + outbound.topic.name
        # The producer span of the message; its context travels in the envelope and in the `traceparent` header
        # (consumers make their span its child). Made here rather than by FastStream's telemetry middleware,
        # which made a second span per message and cost about an eighth of the orders service's CPU.
        with self.telemetry.tracer.start_as_current_span(
            f"{topic} publish",
            context=context_of(known),
            kind=SpanKind.PRODUCER,
            attributes={"messaging.destination.name": topic, "messaging.message.type": outbound.type},
        ):
            traceparent = current_traceparent()
            if self.traces and traceparent:
                for alias in outbound.trace_aliases:
                    self.traces.learn(alias, traceparent, persist=True)
            body = encode(published_event_id(event, index), outbound.type, event.timestamp, outbound.data, traceparent)
            headers = {"event-type": outbound.type, "source": self.name}
            if traceparent:
                headers["traceparent"] = traceparent
            future: asyncio.Future[Any] = await self.broker.publish(
                body, topic=topic, key=outbound.key.encode(), headers=headers, no_confirm=True
            )
        self.telemetry.metrics.published.add(1, {"topic": topic, "type": outbound.type})
        return future

    async def _dead_letter(self, event: Any, index: int, letter: DeadLetter) -> asyncio.Future[Any]:
        topic = self.topic_prefix + letter.topic.dlq
        message_id = _uuid(letter.message_id) or published_event_id(event, index)
        body = encode_raw(message_id, letter.type, letter.occurred_at, letter.data)
        future: asyncio.Future[Any] = await self.broker.publish(
            body,
            topic=topic,
            key=letter.key.encode(),
            headers={
                "error": letter.reason,
                "error-type": letter.error_type,
                "error-consumer": self.name,
                "original-topic": self.topic_prefix + letter.topic.name,
            },
            no_confirm=True,
        )
        self.telemetry.metrics.dead_letters.add(1, {"topic": self.topic_prefix + letter.topic.name,
                                                   "error.type": letter.error_type})  # fmt: skip
        log.warning("%s: gave up %s %s (%s): %s", self.name, letter.type, letter.message_id, letter.error_type,
                    letter.reason)  # fmt: skip
        return future


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


class RelayDuty:
    """Relaying a log that only HTTP commands write (from any replica): done by whichever process owns the
    consumer's log 0, so exactly one relays it; it looks whenever that log is idle."""

    def __init__(self, relay: LogRelay) -> None:
        self.relay = relay

    async def assigned(self) -> None:
        await self.relay.catch_up()

    async def idle(self) -> None:
        await self.relay.catch_up()
        await self.relay.save_position()

    async def revoked(self) -> None:
        await self.relay.save_position()
