"""A read model fed from Kafka as the consumer runtime drives it: a batch of records, validated at the edge,
applied by one call (the read model's own bulk write). Idempotent by event id in the read model itself, so a
redelivered batch changes nothing; nothing to relay."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias

from aiokafka import ConsumerRecord
from opentelemetry.trace import SpanKind, Status, StatusCode

from shared.contracts.envelope import Message
from shared.messaging.consumer import DeadLetter, OwnerDuty, Rejected
from shared.messaging.event_log import Edge, traceparent_header
from shared.telemetry.providers import Telemetry
from shared.telemetry.trace_context import OrderTraces, span_parent

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
ApplyBatch = Callable[[list[tuple[str, Message[Any]]]], Awaitable[None]]


class ReadModelWorker:
    def __init__(
        self,
        edge: Edge,
        apply_batch: ApplyBatch,
        telemetry: Telemetry,
        traces: OrderTraces | None = None,
        also: Sequence[OwnerDuty] = (),
        on_revoked: Callable[[], None] = lambda: None,
    ) -> None:
        # The read model may cache what it wrote while this process owns the log: told when it stops owning it.
        self.on_revoked = on_revoked
        self.edge = edge
        self.apply_batch = apply_batch
        self.telemetry = telemetry
        # Remembers each order's trace, so that the read model can say which trace an order is (support agents).
        self.traces = traces
        # Other duties of this log's owner (e.g. relaying a log that only HTTP writes).
        self.also = list(also)

    async def assigned(self) -> None:
        for duty in self.also:
            await duty.assigned()

    async def handle(self, records: Sequence[Record], dead_letter: DeadLetter) -> list[Rejected]:
        readable, rejected = self.edge.read_batch(records)
        messages = [(self.edge.topic(record.topic).owner, message) for record, message, _ in readable]
        headers = [traceparent_header(record) for record, _, _ in readable]
        if messages:
            # One span per message, in the order's trace (internal events carry it), around the batch's write. Started
            # and ended together, never made current (nothing inside the write makes spans): entering each as the
            # current span of a nested context cost about three times as much, a fifth of a read model's fold.
            tracer = self.telemetry.tracer
            spans = []
            for (_, message), incoming in zip(messages, headers, strict=True):
                parent, links = span_parent(message.traceparent, incoming)
                spans.append(
                    tracer.start_span(
                        f"project {message.type}",
                        context=parent,
                        links=links,
                        kind=SpanKind.CONSUMER,
                        attributes=_attributes(message),
                    )
                )
            try:
                await self.apply_batch(messages)
            except BaseException as error:
                for span in spans:
                    span.record_exception(error)
                    span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
                raise
            finally:
                ended = time.time_ns()
                for span in spans:
                    span.end(ended)
            if self.traces is not None:
                for _, message in messages:
                    order_id = getattr(message.data, "order_id", None)
                    if isinstance(order_id, str) and message.traceparent:
                        self.traces.learn(order_id, message.traceparent, persist=True)
                await self.traces.flush(due_only=True)
        return rejected

    async def revoked(self) -> None:
        self.on_revoked()
        for duty in self.also:
            await duty.revoked()
        if self.traces is not None:
            await self.traces.flush()  # last: only tracing depends on it

    async def idle(self) -> None:
        if self.traces is not None:
            await self.traces.flush()
        for duty in self.also:
            await duty.idle()


def _attributes(message: Message[Any]) -> dict[str, str]:
    attributes = {"messaging.message.type": message.type, "messaging.message.id": str(message.event_id)}
    order_id = getattr(message.data, "order_id", None)
    if isinstance(order_id, str):
        attributes["order.id"] = order_id
    return attributes
