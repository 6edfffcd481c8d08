"""One trace per order, across services and across days.

Each service remembers, per order id, the W3C trace context under which it first saw the order (the
storefront's, continued). Later work on that order — a carrier update days later, a relay publishing a
status change — runs in, or links to, that trace. Contexts are keyed by message key, so a service may also
alias another key to an order (shipping: a tracking number).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pymongo.asynchronous.collection import AsyncCollection

PROPAGATOR = TraceContextTextMapPropagator()
CACHE_SIZE = 20_000


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


class OrderTraces:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection
        # Contexts never change once set, so a hit can be kept; misses are not cached (set later).
        self._cache: OrderedDict[str, str] = OrderedDict()

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
        """Keep the first context seen for `key`; returns the one in force."""
        known = await self.lookup(key)
        if known is not None:
            return known
        await self.collection.update_one({"_id": key}, {"$setOnInsert": {"traceparent": traceparent}}, upsert=True)
        self._cache.pop(key, None)
        return await self.lookup(key) or traceparent

    def _remember_locally(self, key: str, traceparent: str) -> None:
        self._cache[key] = traceparent
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
