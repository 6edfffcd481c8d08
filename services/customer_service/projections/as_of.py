"""Point in time: an order's history as it was at a moment, replayed from its events in the received log.

The live history lists the log numbers of the order's events; those are fetched by `_id` (point lookups) and
the ones that had occurred by then are folded into a fresh history with the same `apply` as the live path.
"""

from __future__ import annotations

from datetime import datetime

from services.customer_service.projections.events import parse_iso
from services.customer_service.projections.history import History, apply, is_known, new_history
from services.customer_service.projections.store import ProjectionStore


async def history_as_of(store: ProjectionStore, order_id: str, as_of: datetime) -> History | None:
    """None when the order is unknown, or was not yet placed at `as_of` (an aware datetime)."""
    current = await store.history(order_id)
    if current is None:
        return None
    past = new_history(order_id)
    for event in await store.log.by_seqs(order_id, current["seqs"]):
        # Compared as instants, not as text: text order is time order only while both sides are written
        # alike (same offset, same padding), and a query's moment is not written by the projections.
        if parse_iso(event.occurred_at) <= as_of:
            apply(past, event)
    return past if is_known(past) else None
