"""The base of every service's event-sourced application: use cases stage what they change, and the runtime
commits a whole batch of messages' effects in one write.

A use case reads like the domain — load (`find`), decide (aggregate methods), done (`stage`) — and never sees
Kafka, message ids or offsets. `process(deliveries)` is the unit of work around a batch of them:
- a delivery at or below its partition's stored position (a redelivery after a crash or rebalance), or whose
  message id is in the inbox (the same event again under another offset), has no effect;
- each accepted delivery runs its use case against the batch's copies of the aggregates, so several messages
  about one order in a batch see each other's effects;
- a delivery the domain refuses as never processable (`InvalidMessage`) is set aside with its reason, and the
  batch is run again without it from committed state, so its partial changes vanish;
- everything staged, the batch's positions and the ids it consumed are one `insert_events` call: one atomic
  commit, so a redelivered batch has no effect and a half-written batch cannot exist.
Committed aggregates stay in the application's cache: the process that owns a partition is its only writer,
and reads nothing on the hot path once warm (see shared/messaging/consumer.py for how ownership is kept).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Cache, LRUCache, ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import JSONTranscoder, Mapper, ProcessRecorder, Recording, Tracking
from eventsourcing.utils import EnvType, strtobool

from shared.contracts.envelope import InvalidMessage
from shared.eventstore.commitlog import LogMoved
from shared.eventstore.recorders import MongoApplicationRecorder, OwnedBatch
from shared.personal_data import KEYS_COLLECTION, ErasureRaced, KeyVault, Sealer
from shared.personal_data.mapper import PersonalDataMapper, PersonalFields
from shared.transcodings import DateAsISO

A = TypeVar("A", bound=Aggregate)

# How many consumed message ids each log remembers, to recognise a copy under another offset.
INBOX_CAPACITY = 200_000
# Aggregates each log keeps in memory.
CACHE_SIZE = 100_000


@dataclass(frozen=True)
class Delivery:
    """One message handed to the application: who it is, where it came from, and the use case it calls."""

    message_id: str
    call: Callable[[], None]
    # `<group>:<topic>#<partition>` and the Kafka offset + 1; None for messages from HTTP.
    tracking: Tracking | None = None


@dataclass
class Processed:
    """What a batch did: the domain events it committed (in commit order) and the deliveries it refused."""

    events: list[DomainEventProtocol[UUID]] = field(default_factory=list)
    refused: list[tuple[Delivery, InvalidMessage]] = field(default_factory=list)
    duplicates: int = 0
    notification_ids: Sequence[int] = ()


class Inbox:
    """The ids of recently consumed messages, oldest forgotten first."""

    def __init__(self, capacity: int = INBOX_CAPACITY) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._ids

    def add(self, message_ids: Iterable[str]) -> None:
        for message_id in message_ids:
            self._ids[message_id] = None
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)

    def clear(self) -> None:
        self._ids.clear()


class _Unit:
    """The aggregates one batch reads and changes: each loaded once, so later messages see earlier effects."""

    def __init__(self) -> None:
        self.aggregates: dict[UUID, Aggregate] = {}
        self.missing: set[UUID] = set()


class ServiceApplication(Application[UUID]):
    """Use cases call `find` and `stage`; the runtime calls `process`."""

    # Trusting the cache is only right for the single writer of a log: its writes never race another's.
    env: ClassVar[dict[str, str]] = {
        "AGGREGATE_CACHE_MAXSIZE": str(CACHE_SIZE),
        "AGGREGATE_CACHE_FASTFORWARD": "n",
    }

    # The event classes that carry personal data, and where (sealed in the store under each customer's key).
    personal_data: ClassVar[PersonalFields] = {}
    # The service's key vault, when it keeps personal data in a MongoDB event log.
    vault: KeyVault | None = None

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)
        self.inbox = Inbox()
        # Tracking name → the position (offset + 1) committed for it.
        self.positions: dict[str, int] = {}
        self._unit: _Unit | None = None
        self._handling: Delivery | None = None
        # One unit of work at a time: a batch from Kafka and a command from HTTP never interleave.
        self._processing = threading.Lock()
        # A unit failed once its commit may have been stored: what is cached (aggregates, positions, inbox) may lack
        # it. The log's worker reloads the log before the next unit (shared/messaging/event_log.py).
        self.unsure_of_log = False
        # Only for the fault-injection harness's test: shows what the harness reports when dedup is gone.
        self.dedup = not strtobool(self.env.get("UNSAFE_DISABLE_DEDUP") or "n")

    # Called (in the storing thread) with what was just stored, in log order: a local projection takes it from
    # memory instead of reading it back.
    _store_listeners: tuple[Callable[[Sequence[Recording[UUID]]], None], ...] = ()

    def call_after_store(self, listener: Callable[[Sequence[Recording[UUID]]], None]) -> None:
        self._store_listeners = (*self._store_listeners, listener)

    def _notify(self, recordings: Sequence[Recording[UUID]]) -> None:
        super()._notify(list(recordings))
        for listener in self._store_listeners:
            listener(recordings)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def construct_mapper(self) -> Mapper[UUID]:
        datastore = getattr(self.factory, "datastore", None)
        if not self.personal_data or datastore is None:
            return super().construct_mapper()  # in-memory persistence (unit tests) keeps plain values
        self.vault = KeyVault(datastore.database[KEYS_COLLECTION])
        base = super().construct_mapper()
        return PersonalDataMapper(
            base.transcoder, Sealer(self.vault), self.personal_data, compressor=base.compressor, cipher=base.cipher
        )

    def erase_personal_data(self, customer_id: str, erasure_id: str) -> None:
        """Destroy the customer's data key (once per erasure): what was sealed under it reads as erased."""
        if self.vault is not None:
            self.vault.erase(customer_id, erasure_id)

    def construct_recorder(self) -> ProcessRecorder:
        # A process recorder stores tracking records atomically with events; a plain one cannot.
        return self.factory.process_recorder()

    # For use cases.

    def find(self, aggregate_id: UUID, aggregate_type: type[A] | None = None) -> Any:
        """The aggregate, or None; inside a batch, the batch's own copy once it has been loaded."""
        unit = self._unit
        if unit is None and self.vault is not None:
            self.vault.refresh()  # a query (HTTP): erasures seen within EPOCH_TTL_S
        if unit is not None:
            if aggregate_id in unit.aggregates:
                return unit.aggregates[aggregate_id]
            if aggregate_id in unit.missing:
                return None
        try:
            if self.snapshots is not None and not self._cached(aggregate_id) and not self._stored(aggregate_id):
                raise AggregateNotFoundError(aggregate_id)
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            if unit is not None:
                unit.missing.add(aggregate_id)
            return None
        if aggregate_type is not None and not isinstance(aggregate, aggregate_type):
            return None
        if unit is not None:
            unit.aggregates[aggregate_id] = aggregate
        return aggregate

    def _cached(self, aggregate_id: UUID) -> bool:
        cache = self.repository.cache
        if cache is None:
            return False
        try:
            cache.get(aggregate_id)
        except KeyError:
            return False
        return True

    def _stored(self, aggregate_id: UUID) -> bool:
        """One read: a new aggregate has no first event. (The repository would look for a snapshot first, then
        for events: two reads to find nothing, on every new order, reservation or shipment.)"""
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    @property
    def message_id(self) -> str | None:
        """The id (`event_id`) of the message whose use case is running, for a use case that keeps the message
        itself (one that waits for something to appear, and may be dead-lettered later)."""
        return None if self._handling is None else self._handling.message_id

    def stage(self, *aggregates: Aggregate | None) -> None:
        """Include these aggregates' changes in the batch's commit (new ones must be staged; found ones are)."""
        unit = self._unit
        if unit is None:
            raise RuntimeError("stage() outside a unit of work: call use cases through process()")
        for aggregate in aggregates:
            if aggregate is not None:
                unit.aggregates[aggregate.id] = aggregate
                unit.missing.discard(aggregate.id)

    # For the runtime.

    def process(
        self,
        deliveries: Sequence[Delivery],
        *,
        passed: Sequence[Tracking] = (),
        before_commit: Callable[[Sequence[tuple[Delivery, InvalidMessage]]], None] | None = None,
    ) -> Processed:
        """`passed`: positions of records the batch set aside before any use case (unreadable ones), committed
        with it so that they are not handled again. `before_commit` gets the deliveries the domain refused once
        the use cases have run and before the commit: what it does with them (the DLQ) is done before the commit
        stores their positions, so a crash in between can repeat it but never lose it."""
        with self._processing:
            if self.vault is not None and self.vault.refresh():
                self.forget()  # a customer was erased elsewhere: drop the plaintext held in memory
            try:
                return self._process(deliveries, passed, before_commit)
            except ErasureRaced:
                self.forget()
                raise

    @contextmanager
    def between_units(self) -> Iterator[None]:
        """Hold off units of work, once the one running has ended: for the runtime's changes of ownership (loading
        a log, letting it go, taking in others' commits). A batch whose task was cancelled on revocation still runs
        in its thread; a load meanwhile would move the fence under it, and it would commit after the new owner's
        fence on state older than the log (found by a chaos run: a stock item's versions written twice)."""
        with self._processing:
            yield

    def forget(self, aggregate_ids: Iterable[UUID] | None = None) -> None:
        """Drop cached state (all of it, or these aggregates'): someone else wrote them."""
        cache = self.repository.cache
        if cache is None:
            return
        if aggregate_ids is None:
            self.repository.cache = Cache() if type(cache) is Cache else LRUCache(CACHE_SIZE)
            return
        for aggregate_id in aggregate_ids:
            with suppress(KeyError):
                cache.get(aggregate_id, evict=True)

    def _process(
        self,
        deliveries: Sequence[Delivery],
        passed: Sequence[Tracking] = (),
        before_commit: Callable[[Sequence[tuple[Delivery, InvalidMessage]]], None] | None = None,
    ) -> Processed:
        result = Processed()
        accepted: list[Delivery] = []
        positions: dict[str, int] = {}
        seen: set[str] = set()
        for set_aside in passed:
            name = set_aside.application_name
            if self.positions.get(name, 0) < set_aside.notification_id:
                positions[name] = max(positions.get(name, 0), set_aside.notification_id)
        for delivery in deliveries:
            tracking = delivery.tracking
            if tracking is not None:
                if self.dedup and self.positions.get(tracking.application_name, 0) >= tracking.notification_id:
                    result.duplicates += 1  # redelivered: its effect is committed already
                    continue
                name = tracking.application_name
                positions[name] = max(positions.get(name, 0), tracking.notification_id)
            if self.dedup and (delivery.message_id in self.inbox or delivery.message_id in seen):
                result.duplicates += 1
                continue
            seen.add(delivery.message_id)
            accepted.append(delivery)
        unit = self._run(accepted, result)
        if before_commit is not None and result.refused:
            # A refusal can rest on state another writer has since changed (a copy of a message it just applied,
            # refused as one too many here): a DLQ copy cannot be taken back, so the batch runs again on the
            # current log first. (A chaos run dead-lettered a valid duplicate ReturnReceived this way.)
            if isinstance(self.recorder, MongoApplicationRecorder):
                self.recorder.log.confirm_fence()
            before_commit(result.refused)
        consumed = [d.message_id for d in accepted]
        if not unit.aggregates and not positions and not consumed:
            return result
        processing = ProcessingEvent[UUID]()
        processing.collect_events(*unit.aggregates.values())
        trackings = [Tracking(name, position) for name, position in sorted(positions.items())]
        processing.saved_kwargs["batch"] = OwnedBatch(tuple(trackings), tuple(consumed))
        if processing.events or trackings or consumed:
            if isinstance(self.mapper, PersonalDataMapper):
                # The library seals events one by one as it stores them. Before the commit: a failure here stored
                # nothing, so it leaves the log certain.
                self.mapper.prepare(processing.events)
            try:
                recordings = self._record(processing)
                result.notification_ids = [r.notification.id for r in recordings]
                self._take_snapshots(processing)
                self._notify(recordings)
            except LogMoved:
                raise  # not stored: another writer's commit came first
            except Exception:
                self.unsure_of_log = True
                raise
        result.events = list(processing.events)
        self.positions.update(positions)
        self.inbox.add(consumed)
        return result

    def _run(self, accepted: list[Delivery], result: Processed) -> _Unit:
        """Run every accepted delivery; a refused one is set aside and the rest run again from committed state."""
        refused: set[int] = set()
        while True:
            unit = _Unit()
            self._unit = unit
            try:
                for index, delivery in enumerate(accepted):
                    if index in refused:
                        continue
                    self._handling = delivery
                    try:
                        delivery.call()
                    except InvalidMessage as invalid:
                        refused.add(index)
                        result.refused.append((delivery, invalid))
                        break
                else:
                    return unit
            finally:
                self._unit = None
                self._handling = None
