"""The warehouse: opening stock, picking, packing and dispatching what shipping lists for an order, receipts
that fill backorders, the odd cycle-count correction, and returned parcels (resellable and damaged units).

It learns what to do by asking the documented HTTP API, the way a warehouse system polling for work would;
stock events may be resent byte for byte (the contract says they must then count once).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid

from benchmarks.chaos.api import Json
from benchmarks.chaos.ledger import Ledger, OrderPlay
from benchmarks.chaos.scenario import WAREHOUSES
from benchmarks.chaos.wire import Record, Wire

TOPIC = "warehouse.events"
# Statuses of a shipment that has not left the warehouse yet.
WAITING = frozenset({"requested", "picked", "packed"})
# A receipt for a sku waits this long after the previous one, so that one backlog is not received twice over.
RECEIPT_SPACING_S = 8.0
CARRIERS = ("CTT", "SEUR", "DHL")


class Warehouse:
    def __init__(
        self, wire: Wire, ledger: Ledger, rng: random.Random, duplicates: float, receipt_duplicates: float
    ) -> None:
        self.wire = wire
        self.ledger = ledger
        self.rng = rng
        self.duplicates = duplicates
        # Receipts and returns are what a lost dedup turns into phantom stock: they get their own share.
        self.receipt_duplicates = receipt_duplicates
        self.last_receipt: dict[str, float] = {}

    async def open_with(self, stock: dict[tuple[str, str], int], adjustments: dict[tuple[str, str], int]) -> None:
        for (sku, warehouse), units in stock.items():
            await self.receive(sku, warehouse, units)
        for (sku, warehouse), delta in adjustments.items():
            await self.adjust(sku, warehouse, delta, "cycle_count")

    async def receive(self, sku: str, warehouse: str, units: int) -> None:
        data = {"sku": sku, "warehouse": warehouse, "quantity": units}
        record = await self.wire.publish(TOPIC, sku, "StockReceived", data)
        self.ledger.received[(sku, warehouse)] += units
        self.last_receipt[sku] = time.monotonic()
        await self._maybe_resend(record, "StockReceived", self.receipt_duplicates)

    async def adjust(self, sku: str, warehouse: str, delta: int, reason: str) -> None:
        data = {"sku": sku, "warehouse": warehouse, "delta": delta, "reason": reason}
        record = await self.wire.publish(TOPIC, sku, "StockAdjusted", data)
        self.ledger.adjusted[(sku, warehouse)] += delta
        await self._maybe_resend(record, "StockAdjusted", self.duplicates)

    async def fill_backorders(self, sku: str, backordered: int) -> None:
        """Goods arrive for what customers wait for, plus a few: into a random warehouse."""
        if time.monotonic() - self.last_receipt.get(sku, 0.0) < RECEIPT_SPACING_S:
            return
        await self.receive(sku, self.rng.choice(WAREHOUSES), backordered + self.rng.randint(0, 3))

    async def found_in_count(self, sku: str) -> None:
        """A cycle count finds a few more units (never fewer: a decrease could meet allocations and be refused,
        which would leave the outside world unsure of on hand)."""
        await self.adjust(sku, self.rng.choice(WAREHOUSES), self.rng.randint(1, 3), "cycle_count_found")

    def work_waiting(self, play: OrderPlay, shipments: list[Json], pick_delay_s: float) -> list[Json]:
        """Shipments to pick now: listed by shipping, not left the warehouse, not yet scanned by us, and
        visible for a little while (a warehouse takes some time)."""
        now = time.monotonic()
        ready = []
        for shipment in shipments:
            shipment_id = shipment["shipment_id"]
            if shipment["status"] not in WAITING or shipment_id in play.scanned:
                continue
            first_seen = play.shipment_first_seen.setdefault(shipment_id, now)
            if now - first_seen >= pick_delay_s:
                ready.append(shipment)
        return ready

    async def pick_pack_dispatch(self, play: OrderPlay, shipment: Json) -> None:
        shipment_id = shipment["shipment_id"]
        lines = {line["sku"]: int(line["quantity"]) for line in shipment["lines"]}
        play.scanned[shipment_id] = (shipment["warehouse"], lines)
        tracking, carrier = f"TN{uuid.UUID(int=self.rng.getrandbits(128)).hex[:14].upper()}", self.rng.choice(CARRIERS)
        play.tracking[shipment_id] = (tracking, carrier)
        dispatched = {"shipment_id": shipment_id, "carrier": carrier, "tracking_number": tracking}
        # Keyed by shipment id, so the three scans stay in this order on one partition.
        for type_, data in (
            ("ShipmentPicked", {"shipment_id": shipment_id}),
            ("ShipmentPacked", {"shipment_id": shipment_id}),
            ("ShipmentDispatched", dispatched),
        ):
            record = await self.wire.publish(TOPIC, shipment_id, type_, data)
            self.ledger.scans[record.value] = shipment_id
            if self.rng.random() < self.duplicates / 2:
                await self._resend(record, type_)
                self.ledger.scans[record.value] = shipment_id

    async def receive_return(self, play: OrderPlay) -> None:
        """The parcel is opened: per returned sku some units resellable, the rest damaged."""
        returned = play.returned
        assert returned is not None
        lines: list[tuple[str, int, str]] = []
        for sku, units in returned.lines.items():
            resellable = self.rng.randint(0, units)
            lines += [(sku, resellable, "resellable")] if resellable else []
            lines += [(sku, units - resellable, "damaged")] if units - resellable else []
        data = {
            "order_id": play.order_id,
            "lines": [{"sku": sku, "quantity": units, "condition": condition} for sku, units, condition in lines],
        }
        record = await self.wire.publish(TOPIC, play.order_id, "ReturnReceived", data)
        returned.received = lines
        for sku, units, condition in lines:
            if condition == "resellable":
                self.ledger.restocked[(sku, returned.shipped_from[sku])] += units
        self.ledger.returns_received += 1
        await self._maybe_resend(record, "ReturnReceived", self.receipt_duplicates)

    async def _maybe_resend(self, record: Record, type_: str, probability: float) -> None:
        if self.rng.random() < probability:
            await asyncio.sleep(self.rng.uniform(0.0, 0.5))
            await self._resend(record, type_)

    async def _resend(self, record: Record, type_: str) -> None:
        await self.wire.deliver(record)
        self.ledger.duplicates_sent[type_] += 1
