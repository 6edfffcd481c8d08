"""What a service consumes: per topic, the message types it acts on and the application call for each.

A handler is a synchronous translator (contract in, one application call out); the consumer runtime runs it
off the event loop, retries it on transient failures and dead-letters what can never succeed.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.contracts.envelope import Contract, Message
from shared.contracts.topics import Topic
from shared.messaging.inbox import Consumed

# Synchronous handlers (eventsourcing applications) run in a worker thread; coroutine functions (read models
# on the async MongoDB client) are awaited on the event loop.
Handler = Callable[[Message[Any], Consumed], None] | Callable[[Message[Any], Consumed], Awaitable[None]]


async def run_handler(handler: Handler, message: Message[Any], consumed: Consumed) -> None:
    """Run a handler the one right way, whatever delivered the message (a Kafka consumer, an HTTP route)."""
    if inspect.iscoroutinefunction(handler):
        await handler(message, consumed)
    else:
        await asyncio.to_thread(handler, message, consumed)


@dataclass(frozen=True)
class Subscription:
    topic: Topic
    # Every type the topic may carry, to validate against; only `handlers`' types are validated and handled.
    payload_types: Mapping[str, type[Contract]]
    handlers: Mapping[str, Handler]
    # Exactly one consumer group of a topic dead-letters messages that no one can read (bad JSON or envelope,
    # unknown type); the others skip them, so the DLQ gets one copy. Types a service handles are always
    # validated, and dead-lettered, by that service.
    dead_letters_unreadable: bool = False
