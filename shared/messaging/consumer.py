"""The one consumer loop of every service: one consumer group over all the topics a service reads, records
batched per log, each log handled by its own task, offsets committed only after the log stored the effect.

- Ownership (shared/messaging/ownership.py): the group hands each member whole logs; on assignment a log's
  worker loads what it needs, on revocation its task finishes the batch in hand and the worker drops its state.
- Batches: everything fetched for a log since its last batch is one batch (up to `max_batch`), handed to the
  log's worker (`LogWorker.handle`), which stores it in one commit and returns the records it could never
  process (to the DLQ with the reason). Then the log's offsets are due to be committed to Kafka: at most every
  `COMMIT_EVERY_S` for the whole consumer, in one request (and at once when a log goes idle or is let go). The
  effect and its position are already in the log's store, so a later Kafka commit only means that a restart
  fetches a little again, which the log recognises as already consumed.
- A log whose worker fails for reasons outside the message (store or broker down, a lost ownership race) retries
  with capped backoff, forever, holding only its own partitions (the fetcher pauses them); other logs go on.
  A deterministic failure of one record (an event too large to store, a bug) is found by splitting the batch,
  and that record alone is dead-lettered. A log stuck longer than `stuck_after_s` is reported by `/ready`.
- A record keyed for another partition than the one it came on (a producer with another partitioner) is
  forwarded, bytes and headers unchanged, to the partition its key belongs to, so a key's log is always the
  same; the copy is recognised by its event id if it ever arrives twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import OffsetAndMetadata
from eventsourcing.persistence import DatabaseError, DataError, IntegrityError, OperationalError
from pymongo.errors import (
    ConnectionFailure,
    DocumentTooLarge,
    OperationFailure,
    PyMongoError,
    WriteError,
)

from shared.messaging.dead_letters import DeadLetters
from shared.messaging.kafka_security import KafkaSecurity
from shared.messaging.ownership import log_owner_assignor, partition_of
from shared.telemetry.providers import Telemetry

log = logging.getLogger(__name__)

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
MAX_BACKOFF_S = 5.0
UNEXPECTED_ERROR_ATTEMPTS = 3
REVOKE_GRACE_S = 10.0

# Failures of the message itself: retrying cannot help, so the record goes to the DLQ.
DETERMINISTIC = (DataError, IntegrityError, DocumentTooLarge, WriteError)
# Failures of our dependencies: wait and try again, however long it takes (nothing is lost meanwhile).
TRANSIENT = (OperationalError, DatabaseError, ConnectionFailure, OperationFailure, PyMongoError, OSError, KafkaError)


METADATA_MAX_AGE_MS = 10_000
FETCH_MAX_WAIT_MS = 500
# What a lingering consumer's fetch waits for, at most (see `_fetch_settings`): about a full batch of records.
LINGER_FETCH_BYTES = 256 * 1024
# How often a consumer commits the offsets its logs have stored: an OffsetCommit per batch was a Kafka request per
# log per batch (at a few orders/s every batch is one record), about a fifth of the requests the broker served.
COMMIT_EVERY_S = 1.0
REBALANCE_TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class Rejected:
    """A record the worker will never process, and why (the DLQ's `error` and `error-type` headers)."""

    record: Record
    reason: str
    error_type: str


# Copies a record set aside to its topic's DLQ with the reason; returns once the broker has it.
DeadLetter: TypeAlias = "Callable[[Rejected], Awaitable[None]]"


class LogWorker(Protocol):
    """Processes the records of one log; one instance per log, used by one task at a time."""

    async def assigned(self) -> None:
        """This process now owns the log: load what the hot path needs."""

    async def handle(self, records: Sequence[Record], dead_letter: DeadLetter) -> list[Rejected]:
        """Store the batch's effect in one commit (or not at all); return the records set aside, which the runtime
        then dead-letters. A worker may dead-letter them itself, before the commit that stores their positions."""

    async def revoked(self) -> None:
        """Another process owns the log now: drop state it may change."""

    async def idle(self) -> None:
        """Called when the log had nothing to do for a while (flush, look for others' writes)."""


class OwnerDuty(Protocol):
    """Work that exactly one process does for a log: the one that owns it (relaying a log only HTTP writes,
    a projection that keeps what it wrote in memory)."""

    async def assigned(self) -> None: ...

    async def idle(self) -> None: ...

    async def revoked(self) -> None: ...


def linger_wait(
    last_batch_at: float, now: float, linger_s: float, queued: int, max_batch: int, aligned: bool = False
) -> float:
    """How long a log waits before its next batch: it starts one at most every `linger_s`, and what arrives
    meanwhile joins it. Under load batches fill (a read model writes a document once per interval, not once per
    record); a record after a quieter stretch, or a full batch, goes at once.

    `aligned`: batches start only on the ticks of one clock (multiples of `linger_s`), so that every log of the
    process starts its batch at the same moment and their writes can be combined (`Coalesced`); a record after
    a quiet stretch then waits for the next tick too (half an interval on average)."""
    if queued >= max_batch or linger_s <= 0:
        return 0.0
    if aligned:
        return linger_s - now % linger_s
    return max(0.0, last_batch_at + linger_s - now)


@dataclass
class _LogState:
    index: int
    worker: LogWorker
    queue: list[Record] = field(default_factory=list)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    busy_since: float | None = None
    stuck_reason: str | None = None
    refused: str | None = None  # the log may not be processed (e.g. its topic was reset): why
    # Records re-published to their key's partition: only their offsets are committed here.
    forwarded: set[tuple[str, int, int]] = field(default_factory=set)
    closing: bool = False
    last_batch_at: float = -math.inf  # monotonic time the log's last batch started


class ServiceConsumer:
    def __init__(
        self,
        *,
        service: str,
        bootstrap_servers: str,
        security: KafkaSecurity,
        group_id: str,
        topics: Sequence[str],
        logs: int,
        workers: Callable[[int], LogWorker],
        dead_letters: DeadLetters,
        telemetry: Telemetry,
        keyed_topics: Iterable[str] = (),
        max_batch: int = 500,
        stuck_after_s: float = 30.0,
        idle_after_s: float = 1.0,
        linger_s: float = 0.0,
        aligned_batches: bool = False,
    ) -> None:
        self.linger_s = linger_s
        self.aligned_batches = aligned_batches
        self.service = service
        self.bootstrap_servers = bootstrap_servers
        self.security = security
        self.group_id = group_id
        self.topics = list(topics)
        self.logs = logs
        self.make_worker = workers
        self.dead_letters = dead_letters
        self.telemetry = telemetry
        # Topics whose records must sit in the partition of their key (their log is the key's).
        self.keyed_topics = set(keyed_topics)
        self.max_batch = max_batch
        self.stuck_after_s = stuck_after_s
        self.idle_after_s = idle_after_s
        self._consumer: AIOKafkaConsumer | None = None
        self._forwarder: AIOKafkaProducer | None = None
        self._owned: dict[int, _LogState] = {}
        self._task: asyncio.Task[None] | None = None
        self._partitions: dict[str, int] = {}
        # Offsets stored by the logs and not yet committed to Kafka (see COMMIT_EVERY_S).
        self._due: dict[TopicPartition, OffsetAndMetadata] = {}
        self._committed_at = time.monotonic()
        self.stopping = False

    # Life cycle.

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            **self.security.client_kwargs(),
            client_id=f"{self.service}-consumer",
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            partition_assignment_strategy=(log_owner_assignor(self.logs),),
            max_poll_records=self.max_batch * 2,
            **self._fetch_settings(),
            # A rebalance waits for every log to finish its batch in hand; batches are small.
            max_poll_interval_ms=300_000,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            # How long the coordinator waits for a live member to rejoin in a rebalance (it first lets go of its
            # logs: up to REVOKE_GRACE_S for the batch in hand, then its duties). aiokafka's default is the session
            # timeout, no longer than that grace: a member whose release took longer than 10 s was
            # dropped, rejoined, and made the other release in turn — the chaos run's two customer_service
            # replicas swapped every log back and forth for 30 minutes. Dead members still go after 10 s.
            rebalance_timeout_ms=REBALANCE_TIMEOUT_MS,
            # A broker that has just restarted can answer metadata before its partitions have leaders: the group
            # is then assigned topics of 0 partitions, so no member owns a log, and nothing changes until the
            # next metadata refresh (found by the chaos run: 5 minutes, aiokafka's default age, with shipping
            # owning nothing). A change of partitions seen in a refresh makes the group rebalance.
            metadata_max_age_ms=METADATA_MAX_AGE_MS,
        )
        await consumer.start()
        self._consumer = consumer
        self._forwarder = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            **self.security.client_kwargs(),
            client_id=f"{self.service}-forwarder",
            enable_idempotence=True,
            acks="all",
        )
        await self._forwarder.start()
        consumer.subscribe(self.topics, listener=_Rebalance(self))
        self._task = asyncio.create_task(self._fetch(), name=f"{self.service}-consumer")
        self._task.add_done_callback(self._log_death)

    def _fetch_settings(self) -> dict[str, int]:
        """How long the broker holds a fetch. A log that starts a batch at most every `linger_s` gains nothing from
        records sooner: the broker gathers them for that long (or until a batch's worth is there), so a read
        model makes a few fetches a second instead of one per record it reads; Kafka's cost is per request.
        Without a linger, records are returned as they arrive (fetch_min_bytes 1), and the wait only bounds how
        often an idle consumer asks (short waits make it poll the broker 20 times a second)."""
        if self.linger_s <= 0:
            return {"fetch_max_wait_ms": FETCH_MAX_WAIT_MS, "fetch_min_bytes": 1}
        return {"fetch_max_wait_ms": max(1, round(self.linger_s * 1000)), "fetch_min_bytes": LINGER_FETCH_BYTES}

    async def stop(self) -> None:
        self.stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._release(list(self._owned))
        if self._consumer is not None:
            await self._consumer.stop()
        if self._forwarder is not None:
            await self._forwarder.stop()

    # What /ready and the metrics look at.

    def problems(self) -> list[str]:
        now = time.monotonic()
        found = []
        for state in self._owned.values():
            if state.refused:
                found.append(f"log {state.index}: {state.refused}")
            elif state.busy_since is not None and now - state.busy_since > self.stuck_after_s:
                found.append(
                    f"log {state.index} has not moved for {now - state.busy_since:.0f}s: {state.stuck_reason or 'busy'}"
                )
        return found

    @property
    def owned_logs(self) -> list[int]:
        return sorted(self._owned)

    # Fetching.

    async def _fetch(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=200, max_records=self.max_batch * 2)
            except KafkaError as error:
                log.warning("%s: fetch failed (%r); retrying", self.service, error)
                await asyncio.sleep(1.0)
                continue
            for tp, records in batches.items():
                self._record_lag(tp, records[-1].offset)
                state = self._owned.get(tp.partition % self.logs)
                if state is None:
                    # Not ours (any more): the owner reads it from the committed offset. Never skipped here.
                    with contextlib.suppress(Exception):
                        consumer.seek(tp, records[0].offset)
                    continue
                for record in records:
                    if tp.topic in self.keyed_topics and record.key and self._misrouted(record):
                        await self._forward(record)
                        state.forwarded.add((record.topic, record.partition, record.offset))
                    state.queue.append(record)
                state.wakeup.set()
            for state in self._owned.values():
                self._pause_if_full(state)

    def _misrouted(self, record: Record) -> bool:
        partitions = self._partitions.get(record.topic)
        if partitions is None and self._consumer is not None:
            partitions = len(self._consumer.partitions_for_topic(record.topic) or ()) or None
            if partitions:
                self._partitions[record.topic] = partitions
        return bool(partitions) and record.key is not None and partition_of(record.key, partitions) != record.partition  # type: ignore[arg-type]

    async def _forward(self, record: Record) -> None:
        """Re-publish a record in its key's partition; the original is then marked as a skipped copy."""
        assert self._forwarder is not None and record.key is not None
        partition = partition_of(record.key, self._partitions[record.topic])
        await self._forwarder.send_and_wait(
            record.topic, record.value, key=record.key, partition=partition, headers=list(record.headers or ())
        )
        log.info(
            "forwarded %s[%s]@%s to partition %s (its key's)", record.topic, record.partition, record.offset, partition
        )

    def _pause_if_full(self, state: _LogState) -> None:
        consumer = self._consumer
        assert consumer is not None
        tps = [tp for tp in consumer.assignment() if tp.partition % self.logs == state.index]
        if len(state.queue) >= self.max_batch * 4 or state.refused:
            consumer.pause(*tps)
        else:
            consumer.resume(*tps)

    def _record_lag(self, tp: TopicPartition, offset: int) -> None:
        consumer = self._consumer
        highwater = consumer.highwater(tp) if consumer is not None else None
        if highwater is not None:
            self.telemetry.metrics.record_lag(self.group_id, tp.topic, tp.partition, max(0, highwater - offset - 1))

    # One task per owned log.

    async def _run_log(self, state: _LogState) -> None:
        while not state.closing:
            if not state.queue:
                state.wakeup.clear()
                try:
                    await asyncio.wait_for(state.wakeup.wait(), self.idle_after_s)
                except TimeoutError:
                    await self._commit_due()
                    await self._guarded(state, state.worker.idle, "idle")
                    continue
                if state.closing:
                    return
            await self._linger(state)
            state.last_batch_at = time.monotonic()
            batch, state.queue = state.queue[: self.max_batch], state.queue[self.max_batch :]
            to_handle = [r for r in batch if (r.topic, r.partition, r.offset) not in state.forwarded]
            if to_handle:
                await self._handle(state, to_handle)
            state.forwarded.difference_update((r.topic, r.partition, r.offset) for r in batch)
            self._stored(batch)
            if time.monotonic() - self._committed_at >= COMMIT_EVERY_S:
                await self._commit_due()

    async def _linger(self, state: _LogState) -> None:
        wait = linger_wait(
            state.last_batch_at,
            time.monotonic(),
            self.linger_s,
            len(state.queue),
            self.max_batch,
            aligned=self.aligned_batches,
        )
        if wait > 0:
            await asyncio.sleep(wait)

    async def _guarded(self, state: _LogState, call: Callable[[], Awaitable[None]], what: str) -> None:
        state.busy_since, state.stuck_reason = time.monotonic(), what  # a hang here is reported too
        try:
            await call()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("%s log %s: %s failed: %r", self.service, state.index, what, error)
            await asyncio.sleep(1.0)
        finally:
            state.busy_since = state.stuck_reason = None

    async def _handle(self, state: _LogState, batch: list[Record]) -> None:
        """Until the batch is stored: transient failures wait and retry; a record that fails by itself is isolated."""
        attempt = 0
        unexpected = 0
        state.busy_since = time.monotonic()
        try:
            while True:
                attempt += 1
                try:
                    rejected = await state.worker.handle(batch, self._dead_letter_rejected)
                except asyncio.CancelledError:
                    raise
                except DETERMINISTIC as error:
                    await self._isolate(state, batch, error)
                    return
                except TRANSIENT as error:
                    state.stuck_reason = f"{type(error).__name__}: {error}"
                    self._count_error(batch, error)
                    delay = min(MAX_BACKOFF_S, 0.05 * 2 ** min(attempt, 10)) * random.uniform(0.5, 1.0)
                    log.warning("%s log %s: retrying a batch of %d in %.2fs after %r", self.service, state.index,
                                len(batch), delay, error)  # fmt: skip
                    await asyncio.sleep(delay)
                    continue
                except Exception as error:
                    unexpected += 1
                    state.stuck_reason = f"{type(error).__name__}: {error}"
                    self._count_error(batch, error)
                    log.exception("%s log %s: a batch of %d failed", self.service, state.index, len(batch))
                    if unexpected >= UNEXPECTED_ERROR_ATTEMPTS:
                        await self._isolate(state, batch, error)
                        return
                    await asyncio.sleep(0.2 * unexpected)
                    continue
                for item in rejected:
                    await self.dead_letter(item.record, item.reason, item.error_type)
                return
        finally:
            state.busy_since = None
            state.stuck_reason = None

    async def _isolate(self, state: _LogState, batch: list[Record], error: BaseException) -> None:
        """One record of the batch cannot be stored: handle them one by one and dead-letter the one that fails."""
        if len(batch) == 1:
            await self.dead_letter(batch[0], f"{type(error).__name__}: {error}", "processing_error")
            return
        for record in batch:
            await self._handle(state, [record])

    def _count_error(self, batch: Sequence[Record], error: BaseException) -> None:
        topics = {record.topic for record in batch}
        for topic in topics:
            self.telemetry.metrics.handler_errors.add(1, {"topic": topic, "error.type": type(error).__name__})

    def _stored(self, batch: Sequence[Record]) -> None:
        """The batch's effect is stored with its positions: its offsets are due to be committed."""
        for record in batch:
            tp = TopicPartition(record.topic, record.partition)
            due = self._due.get(tp)
            if due is None or due.offset <= record.offset:
                self._due[tp] = OffsetAndMetadata(record.offset + 1, "")

    async def _commit_due(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        """Commit the due offsets (of `partitions`, or all) of the partitions still assigned, in one request."""
        consumer = self._consumer
        if consumer is None or not self._due:
            return
        wanted = set(self._due) if partitions is None else set(partitions) & set(self._due)
        owned = consumer.assignment()
        offsets = {tp: self._due.pop(tp) for tp in wanted}
        offsets = {tp: offset for tp, offset in offsets.items() if tp in owned}
        if partitions is None:
            self._committed_at = time.monotonic()
        if not offsets:
            return
        # The effect is stored with its position; a commit lost to a rebalance only means a harmless redelivery.
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, KafkaError):
            for tp, offset in offsets.items():  # tried again with the next commit, unless a newer one is due
                self._due.setdefault(tp, offset)

    async def _dead_letter_rejected(self, rejected: Rejected) -> None:
        await self.dead_letter(rejected.record, rejected.reason, rejected.error_type)

    async def dead_letter(self, record: Record, reason: str, error_type: str) -> None:
        """Copy the record unchanged (key, value, headers) to `<topic>.dlq`, adding why; retried until it is."""
        attempt = 0
        while True:
            try:
                await self.dead_letters.send(record, self.group_id, reason, error_type)
                break
            except KafkaError as error:
                attempt += 1
                log.warning("%s: dead-lettering failed (%r); retrying", self.service, error)
                await asyncio.sleep(min(MAX_BACKOFF_S, 0.1 * 2**attempt))
        self.telemetry.metrics.dead_letters.add(1, {"topic": record.topic, "error.type": error_type})
        log.warning("dead-lettered %s[%s]@%s to %s.dlq: %s (%s)", record.topic, record.partition, record.offset,
                    record.topic, reason, error_type)  # fmt: skip

    # Ownership.

    async def _take(self, partitions: Iterable[TopicPartition]) -> None:
        consumer = self._consumer
        assert consumer is not None
        for partition in partitions:
            self._partitions.setdefault(partition.topic, len(consumer.partitions_for_topic(partition.topic) or ()))
            # An offset left from an earlier ownership is older than what the owner since may have committed.
            self._due.pop(partition, None)
        for index in sorted({tp.partition % self.logs for tp in partitions}):
            if index in self._owned:
                continue
            state = _LogState(index, self.make_worker(index))
            # Owned from now on: what the fetcher hands over while the worker loads waits in the queue.
            self._owned[index] = state
            attempt = 0
            while not self.stopping:
                try:
                    await state.worker.assigned()
                    break
                except Exception as error:
                    attempt += 1
                    log.warning("%s log %s: loading failed (%r); retrying", self.service, index, error)
                    await asyncio.sleep(min(MAX_BACKOFF_S, 0.2 * attempt))
            await self._check_positions(state, [tp for tp in partitions if tp.partition % self.logs == index])
            if self.stopping:
                return
            state.task = asyncio.create_task(self._run_log(state), name=f"{self.service}-log-{index}")
            state.task.add_done_callback(self._log_death)
        log.info("%s owns logs %s", self.service, self.owned_logs)

    def _log_death(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: %s died", self.service, task.get_name(), exc_info=task.exception())

    async def _check_positions(self, state: _LogState, partitions: list[TopicPartition]) -> None:
        """A stored position beyond the end of its partition means the topic was recreated or its offsets reset:
        new records would be skipped as already seen. Refuse to process the log rather than drop them."""
        positions = getattr(state.worker, "stored_positions", None)
        if positions is None or not partitions or self._consumer is None:
            return
        stored = positions(self.group_id)
        ends = await self._end_offsets(partitions)
        if ends is None:
            return
        for tp in partitions:
            known = stored.get(f"{tp.topic}#{tp.partition}")
            if known is not None and known > ends[tp]:
                state.refused = (
                    f"{tp.topic}[{tp.partition}] ends at offset {ends[tp]} but this log consumed up to {known}: "
                    f"the topic was recreated or its offsets reset; refusing to skip its records"
                )
                log.error("%s: %s", self.service, state.refused)

    async def _end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int] | None:
        """Retried while the broker is away (the client's own timeout is 40 s); None once stopping."""
        attempt = 0
        while not self.stopping and self._consumer is not None:
            try:
                ends: dict[TopicPartition, int] = await asyncio.wait_for(
                    self._consumer.end_offsets(partitions), MAX_BACKOFF_S
                )
                return ends
            except (KafkaError, TimeoutError) as error:
                attempt += 1
                log.warning("%s: cannot read partition ends (%r); retrying", self.service, error)
                await asyncio.sleep(min(MAX_BACKOFF_S, 0.2 * attempt))
        return None

    async def _release(self, indexes: Iterable[int]) -> None:
        states = [state for index in list(indexes) if (state := self._owned.pop(index, None)) is not None]
        # Concurrently: each log may take its grace period, and a rebalance or a shutdown waits for all of them.
        await asyncio.gather(*(self._close(state) for state in states))
        if states:
            log.info("%s owns logs %s", self.service, self.owned_logs)

    async def _close(self, state: _LogState) -> None:
        if state.task is not None:
            # Let the batch in hand finish (and commit) rather than cut it off; a stuck one is cancelled.
            state.closing = True
            state.wakeup.set()
            try:
                await asyncio.wait_for(asyncio.shield(state.task), REVOKE_GRACE_S)
            except (TimeoutError, Exception):
                state.task.cancel()
                await asyncio.gather(state.task, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._commit_due(tp for tp in list(self._due) if tp.partition % self.logs == state.index)
        with contextlib.suppress(Exception):
            await state.worker.revoked()


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: ServiceConsumer) -> None:
        self.consumer = consumer

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # Cancelling a log's task stops it between awaits; a batch whose commit was sent is stored (or not) as a
        # whole, and the new owner reloads from the log either way.
        gone = defaultdict(list)
        for tp in revoked:
            gone[tp.partition % self.consumer.logs].append(tp)
        await self.consumer._release(gone)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self.consumer._take(assigned)
