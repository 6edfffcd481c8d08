"""What the relay would publish from an application's event log, in log order."""

from __future__ import annotations

from typing import Any

from services.inventory.adapters.outbound import to_outbound
from services.inventory.application import InventoryApplication
from shared.messaging.outbound import Outbound


def published(app: InventoryApplication, type_: str | None = None) -> list[Outbound]:
    messages = [message for event in domain_events(app) if (message := to_outbound(event)) is not None]
    return [m for m in messages if type_ is None or m.type == type_]


def domain_events(app: InventoryApplication) -> list[Any]:
    notifications = app.recorder.select_notifications(start=1, limit=100_000)
    return [app.mapper.to_domain_event(notification) for notification in notifications]
