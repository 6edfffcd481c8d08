"""Messages that arrive before what they refer to: a carrier's update before the warehouse's dispatch that gave
the tracking number, a scan before the shipment was requested. The topics they come on have no order between
them, so any lag would otherwise lose valid updates. They wait here, keyed by what they name, and are applied
in arrival order when it appears.

Bounded: a key holds at most `MAX_WAITING` messages; one more is refused (the sender is told, through the DLQ,
that nothing ever appeared under that key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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


class EarlyArrivals(Aggregate):
    """The messages waiting for one key (`tracking:<number>` or `shipment:<id>`)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.waiting: list[WaitingMessage] = []

    @staticmethod
    def create_id(key: str) -> UUID:
        return uuid5(SHIPPING_NAMESPACE, f"early-arrivals:{key}")

    @event("Parked")
    def park(self, message: WaitingMessage) -> None:
        self.waiting.append(message)

    def check_room(self) -> None:
        if len(self.waiting) >= MAX_WAITING:
            raise TooManyWaiting(f"{MAX_WAITING} messages already wait for {self.key}, which never appeared")

    def release(self) -> list[WaitingMessage]:
        """Everything waiting, in arrival order; afterwards nothing waits."""
        released = list(self.waiting)
        if released:
            self._released()
        return released

    @event("Released")
    def _released(self) -> None:
        self.waiting = []
