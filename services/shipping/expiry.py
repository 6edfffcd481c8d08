"""Early messages do not wait for ever: the owner of the shipping log looks, every `early_arrival_check_s`, for
keys whose messages have waited longer than `early_arrival_patience_s`, and gives them up through the log's unit
of work like any command (the relay then copies each to its topic's DLQ, with the reason)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.shipping.application import ShippingApplication
from services.shipping.read_model import ShipmentReadModel
from shared.messaging.application import Delivery
from shared.messaging.logs import LogSet
from shared.messaging.periodic import PeriodicDuty


class WaitingExpiry(PeriodicDuty):
    """An owner duty of the shipping log (one process at a time gives messages up)."""

    name = "shipping: expiring early messages"

    def __init__(
        self, logs: LogSet[ShippingApplication], read_model: ShipmentReadModel, patience_s: float, every_s: float
    ) -> None:
        super().__init__(every_s)
        self.logs = logs
        self.read_model = read_model
        self.patience = timedelta(seconds=patience_s)
        self.waiting = 0  # keys waiting, as last counted (the metric)

    async def expire_overdue(self, now: datetime | None = None) -> int:
        """Give up what has waited too long; returns how many keys were looked at."""
        now = now or datetime.now(UTC)
        keys = await self.read_model.waiting_longer_than(now - self.patience)
        if keys:
            writer = self.logs.writer()
            delivery = Delivery(
                f"expire-waiting:{uuid.uuid4()}", lambda: writer.expire_waiting(keys, now, self.patience)
            )
            await self.logs.command(None, delivery)
        self.waiting = await self.read_model.count_waiting()
        return len(keys)

    async def run_once(self) -> int:
        return await self.expire_overdue()
