"""Outbox relay: the service's event log is its outbox. Publishes every notification, in log order, to
Kafka and remembers how far it got, durably, after the broker acknowledged.

At least once on the wire: a crash between publishing and saving the position re-sends the tail, under the
same `event_id`s (derived from aggregate id and version), which consumers recognise as already processed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from faststream.kafka import KafkaBroker
from opentelemetry.trace import SpanKind
from pymongo.asynchronous.collection import AsyncCollection

from shared.contracts.envelope import encode
from shared.messaging.outbound import Outbound
from shared.telemetry.providers import Telemetry
from shared.telemetry.trace_context import OrderTraces, context_of, current_traceparent

log = logging.getLogger(__name__)

EVENT_ID_NAMESPACE = uuid5(NAMESPACE_URL, "urn:fulfillment:event")
# One domain event may be published as several messages (e.g. an order accepted and its reservation request).
ToOutbound = Callable[[Any], Outbound | Iterable[Outbound] | None]


def published_event_id(event: DomainEventProtocol[Any], index: int = 0) -> UUID:
    """Stable across re-sends, unique per published message."""
    suffix = f":{index}" if index else ""
    return uuid5(EVENT_ID_NAMESPACE, f"{event.originator_id}:{event.originator_version}{suffix}")


def outbound_messages(result: Outbound | Iterable[Outbound] | None) -> list[Outbound]:
    if result is None:
        return []
    if isinstance(result, Outbound):
        return [result]
    return list(result)


class OutboxRelay:
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
        batch_size: int = 200,
        idle_poll_s: float = 0.5,
        topic_prefix: str = "",
    ) -> None:
        self.topic_prefix = topic_prefix
        self.telemetry = telemetry
        self.traces = traces
        # Told of every stored event in log order (metrics derived from the log, e.g. order stage durations).
        self.observers = tuple(observers)
        self.backlog_estimate = 0
        telemetry.metrics.watch_backlog(lambda: self.backlog_estimate)
        self.name = name
        self.app = app
        self.to_outbound = to_outbound
        self.broker = broker
        self.positions = positions
        self.batch_size = batch_size
        self.idle_poll_s = idle_poll_s
        self.position = 0
        self.published = 0
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def wake(self) -> None:
        """Something was stored: look now rather than at the next poll. Safe from any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    async def backlog(self) -> int:
        """Notifications stored but not yet published (for metrics and tests)."""
        newest = await asyncio.to_thread(self.app.recorder.max_notification_id)
        return max(0, (newest or 0) - self.position)

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                self.position = await self._load_position()
                while True:
                    if not await self._relay_batch():
                        self._wakeup.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wakeup.wait(), self.idle_poll_s)
                    failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # Broker or store trouble: start again from the last saved position (re-sending what was not
                # confirmed), backing off so an outage is not hammered.
                failures += 1
                delay = min(10.0, 0.2 * 2**failures)
                log.warning(
                    "relay %s failed (%s: %s); retrying in %.1fs", self.name, type(error).__name__, error, delay
                )
                await asyncio.sleep(delay)

    async def _relay_batch(self) -> bool:
        notifications = await asyncio.to_thread(
            self.app.recorder.select_notifications,
            self.position + 1,
            self.batch_size,
        )
        if not notifications:
            return False
        pending = []
        for notification in notifications:
            event = self.app.mapper.to_domain_event(notification)
            for observe in self.observers:
                observe(event)
            for index, outbound in enumerate(outbound_messages(self.to_outbound(event))):
                pending.append(await self._publish(event, index, outbound))
        await asyncio.gather(*pending)
        self.published += len(pending)
        self.position = notifications[-1].id
        await self.positions.update_one({"_id": self.name}, {"$set": {"position": self.position}}, upsert=True)
        if len(notifications) == self.batch_size:
            newest = await asyncio.to_thread(self.app.recorder.max_notification_id)
            self.backlog_estimate = max(0, (newest or 0) - self.position)
        else:
            self.backlog_estimate = 0
        return True

    async def _publish(self, event: Any, index: int, outbound: Outbound) -> asyncio.Future[Any]:
        """Enqueue one message, in the trace of the order it is about (when this service knows it)."""
        order_context = context_of(await self.traces.lookup(outbound.key)) if self.traces else None
        topic = self.topic_prefix + outbound.topic.name
        with self.telemetry.tracer.start_as_current_span(
            f"relay {outbound.type}",
            context=order_context,
            kind=SpanKind.INTERNAL,
            attributes={"messaging.destination.name": topic, "messaging.message.type": outbound.type},
        ):
            traceparent = current_traceparent()
            if self.traces and traceparent:
                for alias in outbound.trace_aliases:
                    await self.traces.remember(alias, traceparent)
            body = encode(published_event_id(event, index), outbound.type, event.timestamp, outbound.data, traceparent)
            # Enqueued in log order (per-key order on the wire), confirmed together by the caller.
            future: asyncio.Future[Any] = await self.broker.publish(
                body,
                topic=topic,
                key=outbound.key.encode(),
                headers={"event-type": outbound.type, "source": self.name},
                no_confirm=True,
            )
        self.telemetry.metrics.published.add(1, {"topic": topic, "type": outbound.type})
        return future

    async def _load_position(self) -> int:
        document = await self.positions.find_one({"_id": self.name})
        return int(document["position"]) if document else 0
