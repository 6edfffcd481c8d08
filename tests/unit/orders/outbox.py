"""What the orders application would publish: its event log read back and mapped as the outbox relay does."""

from __future__ import annotations

from typing import Any

from services.orders.adapters.outbound import to_outbound
from services.orders.application import OrdersApplication
from shared.messaging.outbound import Outbound


def published(app: OrdersApplication, type_: str | None = None) -> list[Outbound]:
    """Every message the log yields, oldest first; only those of `type_` when given."""
    messages = []
    for notification in app.recorder.select_notifications(start=1, limit=10_000):
        outbound = to_outbound(app.mapper.to_domain_event(notification))
        if outbound is not None and (type_ is None or outbound.type == type_):
            messages.append(outbound)
    return messages


def published_data(app: OrdersApplication, type_: str) -> list[dict[str, Any]]:
    """The JSON payloads of one type, as consumers will read them."""
    return [message.data.model_dump(mode="json") for message in published(app, type_)]
