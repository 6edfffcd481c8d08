"""One trace per order, across services and across days.

Each service remembers, per order id, the W3C trace context under which it first saw the order (the
storefront's, continued). Later work on that order — a carrier update days later, a relay publishing a
status change — runs in, or links to, that trace. Contexts are keyed by message key, so a service may also
alias another key to an order (shipping: a tracking number).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

PROPAGATOR = TraceContextTextMapPropagator()
CACHE_SIZE = 20_000
# How often the batch path stores the contexts it learned (see `flush`).
FLUSH_EVERY_S = 1.0
# Each failed attempt means a context was there and then was not: only a dropped collection does that.
INSERT_ATTEMPTS = 3
log = logging.getLogger(__name__)


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def context_of(traceparent: str | None) -> Context | None:
    if not traceparent:
        return None
    context = PROPAGATOR.extract({"traceparent": traceparent})
    return context if trace.get_current_span(context).get_span_context().is_valid else None


def trace_id_of(traceparent: str | None) -> str | None:
    context = context_of(traceparent)
    return None if context is None else format(trace.get_current_span(context).get_span_context().trace_id, "032x")


def span_parent(order_trace: str | None, incoming: str | None) -> tuple[Context | None, list[Link]]:
    """Where a consumer's span goes: under the producer's span (`incoming`, the message's header) when that is in
    the order's trace or the order has none yet; else in the order's trace, linked to where the message came from."""
    incoming_context = context_of(incoming)
    order_context = context_of(order_trace)
    if incoming_context is not None and (order_context is None or trace_id_of(incoming) == trace_id_of(order_trace)):
        return incoming_context, []
    if order_context is None:
        return None, []
    links = [Link(trace.get_current_span(incoming_context).get_span_context())] if incoming_context else []
    return order_context, links


class OrderTraces:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection
        # Contexts never change once set, so a hit can be kept; misses are not cached (set later).
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._unsaved: dict[str, str] = {}
        self._flushed_at = time.monotonic()

    async def lookup(self, key: str) -> str | None:
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        document = await self.collection.find_one({"_id": key})
        if document is None:
            return None
        self._remember_locally(key, str(document["traceparent"]))
        return str(document["traceparent"])

    async def remember(self, key: str, traceparent: str) -> str:
        """Keep the first context seen for `key`; returns the one in force.

        Safe when several consumers (or replicas) remember the same key at once: a plain insert, and whoever
        loses the race reads the winner's context back. (An upsert is not: on FerretDB, and on MongoDB
        without its retry, two concurrent upserts of one `_id` fail one of them with DuplicateKeyError.)
        """
        known = await self.lookup(key)
        if known is not None:
            return known
        for _ in range(INSERT_ATTEMPTS):
            try:
                await self.collection.insert_one({"_id": key, "traceparent": traceparent})
            except DuplicateKeyError:
                # Someone else's context came first: theirs is the order's. Inserts are never undone, so the
                # lookup finds it; were it gone (the collection dropped meanwhile), inserting again is right.
                winner = await self.lookup(key)
                if winner is not None:
                    return winner
                continue
            self._remember_locally(key, traceparent)
            return traceparent
        # Only tracing is at stake: continuing in the message's own context beats failing the message.
        log.warning("could not remember the trace context of %r; continuing in the message's own", key)
        return traceparent

    def _remember_locally(self, key: str, traceparent: str) -> None:
        self._cache[key] = traceparent
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    # The batch path (shared/messaging): learn contexts as messages arrive, persist the new ones once per batch.

    def known(self, key: str) -> str | None:
        """The context in memory for `key`, without asking the store."""
        return self._cache.get(key)

    def learn(self, key: str, traceparent: str, *, persist: bool = False) -> None:
        """Keep `traceparent` for `key` unless one is known; with `persist`, store it at the next `flush`."""
        if key in self._cache:
            return
        self._remember_locally(key, traceparent)
        if persist:
            self._unsaved[key] = traceparent

    async def flush(self, *, due_only: bool = False) -> None:
        """Store what `learn` kept since the last flush: one insert; the first context stored for a key wins.
        `due_only` (after each batch): only once FLUSH_EVERY_S has passed since the last, so that batches of a
        message or two share the insert (it was one round trip per batch); the logs flush at once when idle and
        when let go. A crash loses at most that second of contexts: later work on those orders starts a trace of
        its own, and nothing else depends on them."""
        if not self._unsaved or (due_only and time.monotonic() - self._flushed_at < FLUSH_EVERY_S):
            return
        self._flushed_at = time.monotonic()
        unsaved, self._unsaved = self._unsaved, {}
        documents = [{"_id": key, "traceparent": traceparent} for key, traceparent in unsaved.items()]
        try:
            await self.collection.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            if any(e.get("code") != 11000 for e in error.details.get("writeErrors", [])):
                raise
            for e in error.details.get("writeErrors", []):
                self._cache.pop(str(e.get("op", {}).get("_id")), None)  # another's came first: read it when asked
