"""The storefront: places orders at a steady rate, resends some byte for byte (a producer retry), places some
order ids again under a new event id, lets ~10 % of customers cancel, asks for returns of delivered goods, and
sends a known number of malformed records (which must end in the DLQ and change nothing)."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from benchmarks.chaos.ledger import Ledger, OrderPlay, ReturnPlay
from benchmarks.chaos.scenario import PRICES, OrderSpec
from benchmarks.chaos.wire import Record, Wire
from tests.factories import order_placed
from tests.kafka_probe import envelope

TOPIC = "storefront.orders"


class Storefront:
    def __init__(self, wire: Wire, ledger: Ledger, rng: random.Random, duplicates: float) -> None:
        self.wire = wire
        self.ledger = ledger
        self.rng = rng
        self.duplicates = duplicates
        self.malformed_sent = 0

    async def place(self, play: OrderPlay) -> None:
        spec = play.spec
        record = await self.wire.publish(TOPIC, spec.order_id, "OrderPlaced", _order_placed(spec))
        if spec.resent_byte_for_byte:
            await self.resend(record, "OrderPlaced")
        if spec.replaced_under_new_event_id:
            # Other lines under the same order id (paid for, so that it is a valid order): if this made a second
            # order (or changed the first), the lines and shipped units of the order would show it.
            changed = _order_placed(spec, [(sku, quantity + 1) for sku, quantity in spec.lines])
            await self.wire.publish(TOPIC, spec.order_id, "OrderPlaced", changed)
            self.ledger.duplicates_sent["OrderPlaced (new event_id)"] += 1
        play.placed = True

    async def cancel_later(self, play: OrderPlay, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        play.cancel_requested = True  # before the send: from now on "cancelled" is an expected ending
        data = {"order_id": play.order_id, "reason": "customer_changed_mind"}
        record = await self.wire.publish(TOPIC, play.order_id, "OrderCancellationRequested", data)
        self.ledger.cancellations_sent += 1
        if self.rng.random() < self.duplicates:
            await self.resend(record, "OrderCancellationRequested")

    async def request_return(self, play: OrderPlay) -> None:
        """Some of what was delivered, of skus that one warehouse shipped (so where the resellable units go
        back is known to the outside world too)."""
        shipped_from: dict[str, set[str]] = {}
        units: dict[str, int] = {}
        for warehouse, lines in play.scanned.values():
            for sku, quantity in lines.items():
                shipped_from.setdefault(sku, set()).add(warehouse)
                units[sku] = units.get(sku, 0) + quantity
        candidates = sorted(sku for sku, warehouses in shipped_from.items() if len(warehouses) == 1)
        if not candidates:
            play.wants_return = False  # everything came from two warehouses: nothing unambiguous to return
            return
        skus = self.rng.sample(candidates, k=self.rng.randint(1, len(candidates)))
        asked = {sku: self.rng.randint(1, units[sku]) for sku in skus}
        play.returned = ReturnPlay(asked, {sku: next(iter(shipped_from[sku])) for sku in skus})
        data = {
            "order_id": play.order_id,
            "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in asked.items()],
            "reason": "wrong_size",
        }
        record = await self.wire.publish(TOPIC, play.order_id, "ReturnRequested", data)
        self.ledger.returns_requested += 1
        if self.rng.random() < self.duplicates:
            await self.resend(record, "ReturnRequested")

    async def resend(self, record: Record, type_: str) -> None:
        await self.wire.deliver(record)
        self.ledger.duplicates_sent[type_] += 1

    async def send_malformed(self, number: int) -> None:
        """The next kind of hostile input, in turn; each must reach its topic's DLQ exactly once."""
        kind = MALFORMED[number % len(MALFORMED)]
        record = kind(number)
        await self.wire.deliver(record)
        self.ledger.malformed.append(record)
        self.malformed_sent += 1


def _order_placed(spec: OrderSpec, lines: Iterable[tuple[str, int]] | None = None) -> dict[str, Any]:
    return order_placed(
        spec.order_id,
        [(sku, quantity, str(PRICES[sku])) for sku, quantity in (spec.lines if lines is None else lines)],
        customer_id=spec.customer_id,
        email=spec.email,
        promised_delivery_by=spec.promised_delivery_by,
        payment_status=spec.payment_status,
    )


# Malformed records: bad JSON, a missing field, a value out of range — on each contract topic. Ids name them
# so that a wrongly accepted one would be visible (an order that exists, stock that grew).
def _not_json_order(number: int) -> Record:
    return Record(TOPIC, f"BAD-{number}".encode(), b'{"event_id": "' + str(uuid.uuid4()).encode() + b'", "type": ')


def _order_without_lines(number: int) -> Record:
    data = order_placed(malformed_order_id(number))
    del data["lines"]
    return Record(TOPIC, malformed_order_id(number).encode(), envelope("OrderPlaced", data))


def _receipt_without_warehouse(number: int) -> Record:
    sku = sorted(PRICES)[number % len(PRICES)]
    return Record("warehouse.events", sku.encode(), envelope("StockReceived", {"sku": sku, "quantity": 5}))


def _receipt_of_nothing(number: int) -> Record:
    sku = sorted(PRICES)[number % len(PRICES)]
    data = {"sku": sku, "warehouse": "LIS-1", "quantity": 0}
    return Record("warehouse.events", sku.encode(), envelope("StockReceived", data))


def _tracking_without_status(number: int) -> Record:
    tracking = f"TN-BAD-{number}"
    data = {"tracking_number": tracking, "carrier": "CTT", "location": None, "detail": None}
    return Record("carrier.tracking", tracking.encode(), envelope("TrackingUpdated", data))


def _not_json_tracking(number: int) -> Record:
    return Record("carrier.tracking", f"TN-BAD-{number}".encode(), json.dumps({"event_id": 1}).encode()[:-1])


def malformed_order_id(number: int) -> str:
    return f"BAD-{number}"


MALFORMED: tuple[Callable[[int], Record], ...] = (
    _not_json_order,
    _receipt_without_warehouse,
    _tracking_without_status,
    _order_without_lines,
    _receipt_of_nothing,
    _not_json_tracking,
)
