"""Outbox relay: the service's event log is its outbox. Publishes every notification, in log order, to
Kafka and remembers how far it got, durably, after the broker acknowledged.

At least once on the wire: a crash between publishing and saving the position re-sends the tail, under the
same `event_id`s (derived from aggregate id and version), which consumers recognise as already processed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from faststream.kafka import KafkaBroker
from opentelemetry.trace import SpanKind
from pymongo.asynchronous.collection import AsyncCollection

from shared.contracts.envelope import encode
from shared.log_follower import LogFollower
from shared.messaging.outbound import Outbound
from shared.telemetry.providers import Telemetry
from shared.telemetry.trace_context import OrderTraces, context_of, current_traceparent

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


class OutboxRelay(LogFollower):
    kind = "outbox relay"

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
        super().__init__(name, app, positions, batch_size, idle_poll_s)
        self.to_outbound = to_outbound
        self.broker = broker
        self.topic_prefix = topic_prefix
        self.telemetry = telemetry
        self.traces = traces
        # Told of every stored event in log order (metrics derived from the log, e.g. order stage durations).
        self.observers = tuple(observers)
        self.published = 0
        self.backlog_estimate = 0
        telemetry.metrics.watch_backlog(lambda: self.backlog_estimate)

    async def handle(self, events: list[Any]) -> None:
        pending = []
        for event in events:
            for observe in self.observers:
                observe(event)
            for index, outbound in enumerate(outbound_messages(self.to_outbound(event))):
                pending.append(await self._publish(event, index, outbound))
        # Enqueued one by one in log order (per-key order on the wire), confirmed together: the position is
        # saved only after every message of the batch was acknowledged.
        await asyncio.gather(*pending)
        self.published += len(pending)

    async def after_batch(self, notifications: int) -> None:
        if notifications < self.batch_size:
            self.backlog_estimate = 0
        else:
            self.backlog_estimate = await self.backlog()

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
