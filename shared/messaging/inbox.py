"""Effectively-once consumption: a consumed message's effect and the proof that it was consumed are one commit.

Every handled message stores, in the same `insert_events` call as the events it caused:
- a `ConsumedMessage` marker whose id derives from the message's `event_id`: the same event under any
  offset, topic or entry point (Kafka or HTTP) conflicts on version 1 and so has no second effect;
- a tracking record of the Kafka position (`<group>:<topic>#<partition>`, offset + 1) when it came from Kafka.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, ProcessRecorder, Recording, Tracking

from shared.transcodings import DateAsISO

INBOX_NAMESPACE = uuid5(NAMESPACE_URL, "urn:fulfillment:inbox")


@dataclass(frozen=True)
class Consumed:
    """Where a message came from: enough to recognise it again. Knows nothing of Kafka's types."""

    message_id: str
    source: str
    tracking_name: str | None = None
    tracking_position: int | None = None

    @property
    def tracking(self) -> Tracking | None:
        if self.tracking_name is None or self.tracking_position is None:
            return None
        return Tracking(application_name=self.tracking_name, notification_id=self.tracking_position)


class ConsumedMessage(Aggregate):
    """Marker of one processed message; never changes after it is created."""

    def __init__(self, message_id: str, source: str) -> None:
        self.message_id = message_id
        self.source = source

    @staticmethod
    def create_id(message_id: str, source: str = "") -> UUID:
        return uuid5(INBOX_NAMESPACE, message_id)


class ConcurrentUpdate(RuntimeError):
    """Another writer changed an aggregate we read; the caller reloads and tries again."""


class InboxApplication(Application[UUID]):
    """Base of every service application that reacts to messages."""

    # Called (in the storing thread) after anything is stored, whatever the entry point (Kafka, HTTP):
    # lets the outbox relay and local projections look now instead of at their next poll.
    _store_listeners: tuple[Callable[[], None], ...] = ()

    def call_after_store(self, listener: Callable[[], None]) -> None:
        self._store_listeners = (*self._store_listeners, listener)

    def _notify(self, recordings: Sequence[Recording[UUID]]) -> None:
        super()._notify(list(recordings))
        for listener in self._store_listeners:
            listener()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def construct_recorder(self) -> ProcessRecorder:
        # A process recorder stores tracking records atomically with events; a plain one cannot.
        return self.factory.process_recorder()

    def already_consumed(self, consumed: Consumed) -> bool:
        if ConsumedMessage.create_id(consumed.message_id) in self.repository:
            return True
        tracking = consumed.tracking
        if tracking is None:
            return False
        assert isinstance(self.recorder, ProcessRecorder)
        latest = self.recorder.max_tracking_id(tracking.application_name)
        return latest is not None and latest >= tracking.notification_id

    def save_consumed(self, consumed: Consumed, *objects: Any) -> bool:
        """Store the effect of `consumed` atomically with its marker; False if it had been consumed already.

        Raises `ConcurrentUpdate` when another writer got in first: the use case should be run again.
        """
        processing = ProcessingEvent[UUID](tracking=consumed.tracking)
        processing.collect_events(*objects, ConsumedMessage(consumed.message_id, consumed.source))
        try:
            recordings = self._record(processing)
        except IntegrityError:
            if self.already_consumed(consumed):
                return False
            raise ConcurrentUpdate(f"concurrent update while handling message {consumed.message_id}") from None
        self._take_snapshots(processing)
        self._notify(recordings)
        return True
