"""What a service publishes for one of its domain events: produced by the service's outbound adapter,
sent by the outbox relay."""

from __future__ import annotations

from dataclasses import dataclass

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
