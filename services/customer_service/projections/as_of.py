"""Point in time: an order's history as it was at a moment, replayed from its events in the received log.

The live history lists the log numbers of the order's events; those are fetched by `_id` (point lookups) and
the ones that had occurred by then are folded into a fresh history with the same `apply` as the live path.
"""

from __future__ import annotations

from services.customer_service.projections.history import History, apply, is_known, new_history
from services.customer_service.projections.store import ProjectionStore


async def history_as_of(store: ProjectionStore, order_id: str, as_of: str) -> History | None:
    """None when the order is unknown, or was not yet placed at `as_of` (an RFC 3339 string from `iso`)."""
    current = await store.history(order_id)
    if current is None:
        return None
    past = new_history(order_id)
    for event in await store.log.by_seqs(order_id, current["seqs"]):
        if event.occurred_at <= as_of:
            apply(past, event)
    return past if is_known(past) else None
