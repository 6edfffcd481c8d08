"""What a service publishes for one of its domain events: produced by the service's outbound adapter,
sent by the outbox relay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.contracts.envelope import Contract
from shared.contracts.topics import Topic


@dataclass(frozen=True)
class Outbound:
    topic: Topic
    key: str
    type: str
    data: Contract
    # Other keys that later messages about the same order arrive under (a tracking number): work on them joins
    # the order's trace.
    trace_aliases: tuple[str, ...] = ()
    # Whose trace the message travels in when that is not its key's: a stock level keyed by sku that an order's
    # reservation changed belongs to that order's trace.
    trace_key: str | None = None


@dataclass(frozen=True)
class DeadLetter:
    """A message the service took in and gave up on later (it waited for something that never appeared, or
    what it waited for refused it): sent to `<topic>.dlq` as its sender wrote it — same `event_id`, type, time
    and data — with why in the headers, as the consumer runtime dead-letters a message it cannot process."""

    topic: Topic  # the topic it came on
    key: str
    message_id: str
    type: str
    occurred_at: datetime
    data: dict[str, Any]
    reason: str
    error_type: str
