"""The carriers: once shipping shows a shipment dispatched, its carrier reports it on `carrier.tracking` —
some updates twice (byte for byte, or a retry under a new event id), some out of order by `occurred_at`, a
stale one after delivery — always ending, by `occurred_at`, in `delivered`."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from benchmarks.chaos.ledger import Ledger
from benchmarks.chaos.wire import Wire

TOPIC = "carrier.tracking"
JOURNEY = ("label_created", "picked_up", "in_transit", "out_for_delivery", "delivered")
DETOURS = ("delayed", "exception", "delivery_attempted")


class Carriers:
    def __init__(self, wire: Wire, ledger: Ledger, rng: random.Random, duplicates: float) -> None:
        self.wire = wire
        self.ledger = ledger
        self.rng = rng
        self.duplicates = duplicates

    def journey(self) -> list[tuple[str, datetime]]:
        """The updates in the order they are sent, each with the carrier's time of the event."""
        statuses = list(JOURNEY)
        if self.rng.random() < 0.2:
            statuses.insert(3, self.rng.choice(DETOURS))
        start = datetime.now(UTC)
        updates = [(status, start + timedelta(minutes=10 * n)) for n, status in enumerate(statuses)]
        if self.rng.random() < 0.3:  # two updates before delivery swap places on the way
            n = self.rng.randrange(len(updates) - 2)
            updates[n], updates[n + 1] = updates[n + 1], updates[n]
            self.ledger.out_of_order_updates += 1
        if self.rng.random() < 0.15:  # a scan from the depot, reported only after delivery
            updates.append(("in_transit", start + timedelta(minutes=5)))
            self.ledger.out_of_order_updates += 1
        return updates

    async def deliver(self, tracking_number: str, carrier: str) -> None:
        for status, at in self.journey():
            data = {
                "tracking_number": tracking_number,
                "carrier": carrier,
                "status": status,
                "location": "Lisboa hub",
                "detail": None,
            }
            occurred_at = at.isoformat().replace("+00:00", "Z")
            record = await self.wire.publish(TOPIC, tracking_number, "TrackingUpdated", data, occurred_at=occurred_at)
            self.ledger.carrier_updates += 1
            roll = self.rng.random()
            if roll < self.duplicates:
                await self.wire.deliver(record)
                self.ledger.duplicates_sent["TrackingUpdated"] += 1
            elif status == "delivered" and roll < 2 * self.duplicates:
                # The carrier's system retries with a fresh event id: same update, by its content.
                await self.wire.publish(TOPIC, tracking_number, "TrackingUpdated", data, occurred_at=occurred_at)
                self.ledger.duplicates_sent["TrackingUpdated (new event_id)"] += 1
            await asyncio.sleep(self.rng.uniform(0.05, 0.3))
