"""A log of an event-sourced service as the consumer runtime drives it: records in, one commit per batch,
the batch's events relayed to Kafka from memory.

Per batch: decode and validate every record at the edge (the subscription's contracts), turn each into a
`Delivery` of its use case, run them all through `ServiceApplication.process` off the event loop (one commit),
then hand the committed events to the log's relay, which publishes them with one flush. A record that can
never be processed is dead-lettered before the commit that stores its position; the partition moves on.

Loading on assignment: the Kafka positions this log consumed up to and the ids of recent messages (from the
newest commits), and the relay's backlog (what was committed but maybe not published before the last owner
stopped). Someone else's commits (an HTTP command served by another replica) are found when the owner's next
append collides, or when it looks while idle: the aggregates they touched are dropped from memory and their
events relayed in log order.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias
from uuid import UUID

from aiokafka import ConsumerRecord
from eventsourcing.persistence import Tracking
from opentelemetry.trace import Link, SpanKind

from shared.contracts.envelope import InvalidMessage, Message, parse_envelope, unknown_type, validate_payload
from shared.contracts.topics import Topic
from shared.eventstore.commitlog import CommitLog, LogMoved
from shared.eventstore.recorders import MongoApplicationRecorder
from shared.messaging.application import Delivery, Processed, ServiceApplication
from shared.messaging.consumer import DeadLetter, OwnerDuty, Rejected
from shared.messaging.relay import LogRelay
from shared.messaging.subscriptions import Subscription
from shared.telemetry.logs import event_id_var, order_id_var
from shared.telemetry.providers import Telemetry
from shared.telemetry.trace_context import OrderTraces, span_parent

log = logging.getLogger(__name__)

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
# A record this service acts on, with its validated message and the handler for its type.
Readable = tuple[Record, Message[Any], Callable[[Message[Any]], None]]
# How many of the newest commits a new owner reads to remember which messages it consumed.
INBOX_COMMITS_ON_ASSIGNMENT = 200
DEAD_LETTERED_MEMORY = 10_000
FAULT_EXIT_CODE = 70


def tracking_name(group_id: str, topic: str, partition: int) -> str:
    return f"{group_id}:{topic}#{partition}"


class Edge:
    """The subscription layer: bytes of a record → a validated message and the handler for it, or a reason."""

    def __init__(self, subscriptions: Sequence[Subscription], topic_prefix: str) -> None:
        self.by_topic: dict[str, Subscription] = {topic_prefix + s.topic.name: s for s in subscriptions}

    def topics(self) -> list[str]:
        return list(self.by_topic)

    def topic(self, name: str) -> Topic:
        return self.by_topic[name].topic

    def opens_order(self, record: Record, message: Message[Any]) -> bool:
        return message.type in self.by_topic[record.topic].opens_order

    def read_batch(self, records: Sequence[Record]) -> tuple[list[Readable], list[Rejected]]:
        """The records this service acts on, each with its message and handler; and those set aside."""
        readable: list[Readable] = []
        rejected: list[Rejected] = []
        for record in records:
            read = self.read(record)
            if isinstance(read, Rejected):
                rejected.append(read)
            elif read is not None:
                readable.append((record, *read))
        return readable, rejected

    def read(self, record: Record) -> tuple[Message[Any], Callable[[Message[Any]], None]] | Rejected | None:
        """None: a type of this topic that other services act on, or unreadable and dead-lettered by another."""
        subscription = self.by_topic[record.topic]
        try:
            envelope = parse_envelope(record.value or b"")
            if envelope.type not in subscription.payload_types:
                raise InvalidMessage(unknown_type(envelope.type, subscription.payload_types))
        except InvalidMessage as unreadable:
            if subscription.dead_letters_unreadable:
                return Rejected(record, unreadable.reason, unreadable.error_type)
            return None
        handler = subscription.handlers.get(envelope.type)
        if handler is None:
            return None
        try:
            message = validate_payload(envelope, subscription.payload_types[envelope.type])
        except InvalidMessage as invalid:
            return Rejected(record, invalid.reason, invalid.error_type)
        return message, handler


class EventLogWorker:
    def __init__(
        self,
        *,
        app: ServiceApplication,
        edge: Edge,
        relay: LogRelay,
        group_id: str,
        partitions: Sequence[tuple[str, int]],
        telemetry: Telemetry,
        traces: OrderTraces | None = None,
        crash_before_publishing: str | None = None,
    ) -> None:
        self.app = app
        # A fault hook for the crash test (FAULT_EXIT_BEFORE_PUBLISHING): the domain event type that triggers it.
        self.crash_before_publishing = crash_before_publishing
        self.edge = edge
        self.relay = relay
        self.group_id = group_id
        # The (topic, partition) pairs whose records this log consumes.
        self.partitions = list(partitions)
        self.telemetry = telemetry
        self.traces = traces
        self.owned = False
        # Records this process dead-lettered lately (topic, partition, offset): a batch retried after a collision
        # does not copy them twice.
        self._dead_lettered: OrderedDict[tuple[str, int, int], None] = OrderedDict()
        # Other work of this log's owner (a projection of the log, say): started and stopped with ownership.
        self.also: list[OwnerDuty] = []

    # LogWorker.

    async def assigned(self) -> None:
        await asyncio.to_thread(self._load)
        await self.relay.catch_up()
        self.owned = True
        for duty in self.also:
            await duty.assigned()

    async def handle(self, records: Sequence[Record], dead_letter: DeadLetter) -> list[Rejected]:
        """Records set aside go to the DLQ before the commit that stores their positions (so a crash between can
        repeat a DLQ copy but never lose one), and a record at or below its stored position is not even read: a
        redelivered poison record is not dead-lettered again."""
        if self.app.dedup:
            records = [r for r in records if not self._stored(r)]
        readable, unreadable = self.edge.read_batch(records)
        for item in unreadable:
            await self._dead_letter_once(item, dead_letter)
        # Trace lookups of the batch at once, not one round trip after another.
        deliveries = list(await asyncio.gather(*(self._delivery(*item) for item in readable)))
        by_delivery = {id(delivery): item[0] for delivery, item in zip(deliveries, readable, strict=True)}
        if not deliveries and not unreadable:
            return []
        loop = asyncio.get_running_loop()

        def before_commit(refused: Sequence[tuple[Delivery, InvalidMessage]]) -> None:
            for delivery, invalid in refused:  # from the storing thread: the copies are sent on the event loop
                item = Rejected(by_delivery[id(delivery)], invalid.reason, invalid.error_type)
                asyncio.run_coroutine_threadsafe(self._dead_letter_once(item, dead_letter), loop).result()

        passed = [self._tracking(item.record) for item in unreadable]
        processed = await self.process(deliveries, passed=passed, before_commit=before_commit)
        for record in records:
            self.telemetry.metrics.consumed.add(1, {"topic": record.topic, "group": self.group_id})
        if self.crash_before_publishing and any(
            type(e).__qualname__.endswith(self.crash_before_publishing) for e in processed.events
        ):
            log.error("fault injection: exiting between commit and publish")
            os._exit(FAULT_EXIT_CODE)
        await self.relay.publish(processed.events, processed.notification_ids)
        if self.traces is not None:
            await self.traces.flush(due_only=True)
        return []

    async def process(
        self,
        deliveries: Sequence[Delivery],
        passed: Sequence[Tracking] = (),
        before_commit: Callable[[Sequence[tuple[Delivery, InvalidMessage]]], None] | None = None,
    ) -> Processed:
        """One unit of work on the log (a batch, or an HTTP command), off the event loop. `LogMoved`: someone else
        appended first, take their commits in. A unit that failed once its commit may have been stored
        (`unsure_of_log`) leaves the cached aggregates, positions and inbox without it: this writer reloads the log
        before its next unit, else a batch run again would decide on state that lacks its own commit."""
        if self.app.unsure_of_log:
            await self._reload()
        try:
            return await asyncio.to_thread(self.app.process, deliveries, passed=passed, before_commit=before_commit)
        except LogMoved:
            await asyncio.to_thread(self._absorb_others)
            raise

    async def _reload(self) -> None:
        if self.owned:
            await asyncio.to_thread(self._load)
            await self.relay.catch_up()
        else:
            await asyncio.to_thread(self._take_in_all)
        log.info("%s: reloaded the log after a failed unit of work", self.app.name)

    def _tracking(self, record: Record) -> Tracking:
        return Tracking(tracking_name(self.group_id, record.topic, record.partition), record.offset + 1)

    def _stored(self, record: Record) -> bool:
        tracking = self._tracking(record)
        return self.app.positions.get(tracking.application_name, 0) >= tracking.notification_id

    async def _dead_letter_once(self, item: Rejected, dead_letter: DeadLetter) -> None:
        """A batch run again (another writer's commit came first) sets the same records aside: one copy each."""
        where = (item.record.topic, item.record.partition, item.record.offset)
        if where in self._dead_lettered:
            return
        await dead_letter(item)
        self._dead_lettered[where] = None
        while len(self._dead_lettered) > DEAD_LETTERED_MEMORY:
            self._dead_lettered.popitem(last=False)

    async def revoked(self) -> None:
        self.owned = False
        for duty in self.also:
            await duty.revoked()
        await asyncio.to_thread(self._checkpoint)  # the next owner then has less of the log to project again
        await self.relay.save_position()
        await asyncio.to_thread(self._let_go)
        if self.traces is not None:
            await self.traces.flush()  # last: only tracing depends on it

    def _let_go(self) -> None:
        with self.app.between_units():
            self.app.forget()
            self.app.positions.clear()
            self.app.inbox.clear()

    async def idle(self) -> None:
        await asyncio.to_thread(self._checkpoint, due_only=True)
        if self.traces is not None:
            await self.traces.flush()
        moved = await asyncio.to_thread(self._absorb_others)
        if moved:
            await self.relay.catch_up()
        await self.relay.save_position()
        for duty in self.also:
            await duty.idle()

    def stored_positions(self, group_id: str) -> dict[str, int]:
        prefix = f"{group_id}:"
        return {name[len(prefix) :]: n for name, n in self.app.positions.items() if name.startswith(prefix)}

    # Loading.

    def _load(self) -> None:
        with self.app.between_units():
            self._load_log()

    def _load_log(self) -> None:
        recorder = self.app.recorder
        if isinstance(recorder, MongoApplicationRecorder):
            # The owner stores its pages with its checkpoints, and only it writes them: it projects what the last
            # owner left unprojected before it reads a position.
            recorder.log.defer_projection = True
        self.app.forget()
        self.app.positions.clear()
        self.app.inbox.clear()
        for topic, partition in self.partitions:
            name = tracking_name(self.group_id, topic, partition)
            position = recorder.max_tracking_id(name)  # type: ignore[attr-defined]
            if position is not None:
                self.app.positions[name] = position
        if isinstance(recorder, MongoApplicationRecorder):
            commit_log = recorder.log
            head = commit_log.refresh_head()
            commit_log.take_in(head)  # everything up to here is in the store (projected now); the cache is empty
            for number in range(max(1, head.number - INBOX_COMMITS_ON_ASSIGNMENT + 1), head.number + 1):
                commit = commit_log.read_commit(number)
                if commit is not None:
                    self.app.inbox.add(commit.consumed)
        self.app.unsure_of_log = False  # all of it read again, under the lock that units take

    def _checkpoint(self, *, due_only: bool = False) -> None:
        recorder = self.app.recorder
        if isinstance(recorder, MongoApplicationRecorder):
            # Once it lets go, this process writes no more pages of the log: what it still appends (an HTTP command)
            # the next owner projects, and readers find in the commits meanwhile.
            recorder.log.defer_projection = self.owned
            recorder.log.checkpoint(due_only=due_only)

    def _absorb_others(self) -> bool:
        """Take in commits someone else appended: forget what they touched, adopt their positions."""
        with self.app.between_units():
            return self._absorb()

    def _absorb(self) -> bool:
        recorder = self.app.recorder
        if not isinstance(recorder, MongoApplicationRecorder):
            return False
        commit_log = recorder.log
        fence = commit_log.fence
        if fence is None:
            # Never taken in (an HTTP command on a process that does not own the log): nothing cached is known
            # to be current.
            self._take_in(commit_log)
            return True
        foreign = commit_log.commits_after(fence.number)
        if not foreign:
            return False
        commit_log.take_in(foreign[-1].position)
        commit_log.catch_up(commit_log.head.number)
        touched: set[UUID] = set()
        for commit in foreign:
            touched.update(e.originator_id for e in commit.events if isinstance(e.originator_id, UUID))
            for tracking in commit.trackings:
                current = self.app.positions.get(tracking.application_name, 0)
                self.app.positions[tracking.application_name] = max(current, tracking.notification_id)
            self.app.inbox.add(commit.consumed)
        self.app.forget(touched)
        log.info("%s: took in %d commit(s) written elsewhere", self.app.name, len(foreign))
        return True

    def _take_in_all(self) -> None:
        with self.app.between_units():
            recorder = self.app.recorder
            if isinstance(recorder, MongoApplicationRecorder):
                self._take_in(recorder.log)
            else:
                self.app.forget()
            self.app.unsure_of_log = False

    def _take_in(self, commit_log: CommitLog) -> None:
        self.app.forget()
        head = commit_log.refresh_head()
        # What the use case reads next must include the owner's newest commits, whose pages it may not have
        # written yet: this process reads them from the commits (only the owner writes pages).
        commit_log.take_in(head)

    # One message.

    async def _delivery(
        self, record: Record, message: Message[Any], handler: Callable[[Message[Any]], None]
    ) -> Delivery:
        key = record.key.decode("utf-8", "replace") if record.key else None
        order_id = getattr(message.data, "order_id", None)
        order_id = order_id if isinstance(order_id, str) else None
        parent, links = await self._order_context(record, message, key, order_id)
        tracer = self.telemetry.tracer
        attributes = {"messaging.message.type": message.type, "messaging.message.id": str(message.event_id)}
        if order_id:
            attributes["order.id"] = order_id

        def call() -> None:
            order_token = order_id_var.set(order_id)
            event_token = event_id_var.set(str(message.event_id))
            try:
                with tracer.start_as_current_span(
                    f"handle {message.type}", context=parent, links=links, kind=SpanKind.CONSUMER, attributes=attributes
                ):
                    handler(message)
            finally:
                order_id_var.reset(order_token)
                event_id_var.reset(event_token)

        return Delivery(
            message_id=str(message.event_id),
            call=call,
            tracking=Tracking(tracking_name(self.group_id, record.topic, record.partition), record.offset + 1),
        )

    async def _order_context(
        self, record: Record, message: Message[Any], key: str | None, order_id: str | None
    ) -> tuple[Any, list[Link]]:
        """Work on an order runs in the order's trace (internal events carry it; others look it up, or start it),
        as the child of the producer's span when that is in the same trace, else linked to it."""
        incoming = traceparent_header(record)
        if self.traces is None:
            return span_parent(None, incoming)
        order_trace = message.traceparent
        if order_trace is None and (order_id or key):
            known = order_id or key or ""
            # An order's first message has no context to find but the one in memory (a copy's).
            opens = self.edge.opens_order(record, message)
            order_trace = self.traces.known(known) if opens else await self.traces.lookup(known)
        if order_id:
            if order_trace is not None:
                self.traces.learn(order_id, order_trace)
            elif incoming:
                self.traces.learn(order_id, incoming, persist=True)  # the order's first message starts its trace
        return span_parent(order_trace, incoming)


def traceparent_header(record: Record) -> str | None:
    for name, value in record.headers or ():
        if name == "traceparent" and value:
            try:
                return str(value.decode("ascii"))
            except UnicodeDecodeError:
                return None
    return None
