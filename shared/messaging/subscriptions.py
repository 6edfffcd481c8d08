"""What a service consumes: per topic, the message types it acts on and the use case each one calls.

A handler is a translator: a validated contract in, one application call out, synchronous (it runs inside the
log's unit of work, off the event loop). Delivery mechanics — dedup, tracking, batching, retries, the DLQ — are
the runtime's (shared/messaging/application.py, consumer.py), never the handler's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.contracts.envelope import Contract, Message
from shared.contracts.topics import Topic

Handler = Callable[[Message[Any]], None]


@dataclass(frozen=True)
class Subscription:
    topic: Topic
    # Every type the topic may carry, to validate against; only `handlers`' types are validated and handled.
    payload_types: Mapping[str, type[Contract]]
    handlers: Mapping[str, Handler]
    # Exactly one consuming service of a topic dead-letters messages that no one can read (bad JSON or envelope,
    # unknown type); the others skip them, so the DLQ gets one copy. Types a service handles are always
    # validated, and dead-lettered, by that service.
    dead_letters_unreadable: bool = False
    # Types that are an order's first message anywhere (the storefront's OrderPlaced): the order has no trace
    # context yet, so none is looked up (one store read per order saved); a copy of one starts spans in its own
    # trace, which only tracing sees.
    opens_order: frozenset[str] = frozenset()
