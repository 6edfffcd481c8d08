"""Messages that arrive before what they refer to: a carrier's update before the warehouse's dispatch that gave
the tracking number, a scan before the shipment was requested. The topics they come on have no order between
them, so any lag would otherwise lose valid updates. They wait here, keyed by what they name, and are applied
in arrival order when it appears.

Bounded: a key holds at most `MAX_WAITING` messages; one more is refused (the sender is told, through the DLQ,
that nothing ever appeared under that key). And patient only so long: a message that has waited longer than
the service's patience expires, and one that meets a refusal when it is finally applied (a scan of a shipment
cancelled meanwhile) is given up — both are recorded with the message and the reason, and the outbound adapter
sends them to their topic's DLQ. Nothing that came in is dropped without a word.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.shipping.domain import SHIPPING_NAMESPACE

MAX_WAITING = 50


class TooManyWaiting(Exception):
    """More messages wait for this key than any real shipment would produce."""


@dataclass(frozen=True)
class WaitingMessage:
    """One early message: its type, when it happened, and its fields (as plain values)."""

    type: str
    at: datetime
    fields: dict[str, str | None]
    # The message's own id, so that a dead-lettered copy is recognisable as the message that was sent.
    message_id: str = ""
    # When it began to wait, by this service's clock: what its patience is counted from.
    parked_at: datetime | None = None

    def overdue(self, now: datetime, patience: timedelta) -> bool:
        return self.parked_at is not None and now - self.parked_at >= patience


class EarlyArrivals(Aggregate):
    """The messages waiting for one key (`tracking:<number>` or `shipment:<id>`)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.waiting: list[WaitingMessage] = []

    @staticmethod
    def create_id(key: str) -> UUID:
        return uuid5(SHIPPING_NAMESPACE, f"early-arrivals:{key}")

    # Every event names its key: the read model keeps an index of the keys that have messages waiting.
    class Parked(Aggregate.Event):
        key: str
        message: WaitingMessage

    class Released(Aggregate.Event):
        key: str

    def park(self, message: WaitingMessage) -> None:
        self._parked(self.key, message)

    @event(Parked)
    def _parked(self, key: str, message: WaitingMessage) -> None:
        self.waiting.append(message)

    def check_room(self) -> None:
        if len(self.waiting) >= MAX_WAITING:
            raise TooManyWaiting(f"{MAX_WAITING} messages already wait for {self.key}, which never appeared")

    def release(self) -> list[WaitingMessage]:
        """Everything waiting, in arrival order; afterwards nothing waits."""
        released = list(self.waiting)
        if released:
            self._released(self.key)
        return released

    @event(Released)
    def _released(self, key: str) -> None:
        self.waiting = []

    class Expired(Aggregate.Event):
        key: str
        messages: list[WaitingMessage]
        reason: str
        # The oldest arrival of those still waiting (None: none): for the read model's index of waiting keys.
        waiting_since: datetime | None

    class GivenUp(Aggregate.Event):
        key: str
        message: WaitingMessage
        reason: str

    def expire(self, now: datetime, patience: timedelta) -> None:
        """Give up the messages that have waited `patience` or longer; the newer ones go on waiting."""
        overdue = [m for m in self.waiting if m.overdue(now, patience)]
        if overdue:
            reason = f"{self.key} did not appear within {_duration(patience)} of this message's arrival"
            remaining = [m for m in self.waiting if m not in overdue]
            waiting_since = min((m.parked_at for m in remaining if m.parked_at is not None), default=None)
            self._expired(self.key, overdue, reason, waiting_since)

    @event(Expired)
    def _expired(self, key: str, messages: list[WaitingMessage], reason: str, waiting_since: datetime | None) -> None:
        self.waiting = [m for m in self.waiting if m not in messages]

    def give_up(self, message: WaitingMessage, reason: str) -> None:
        """A released message that its shipment refused: recorded, so that it reaches the DLQ."""
        self._given_up(self.key, message, reason)

    @event(GivenUp)
    def _given_up(self, key: str, message: WaitingMessage, reason: str) -> None:
        pass


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds}s"
