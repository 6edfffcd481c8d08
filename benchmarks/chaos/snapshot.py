"""The system's final word, read over HTTP once the faults are over and every order has ended: each order
as orders, the history, shipping (and, for cancelled and rejected ones, inventory) tell it, and the stock."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from benchmarks.chaos.api import Json, SystemApi, Unavailable
from benchmarks.chaos.dead_letters import DeadLetter
from benchmarks.chaos.ledger import Cell, Ledger, OrderPlay
from benchmarks.chaos.play import LEFT_WAREHOUSE
from benchmarks.chaos.scenario import SKUS

ATTEMPTS = 20  # per read, a few seconds apart: a replica may still be restarting
T = TypeVar("T")


@dataclass
class OrderFinal:
    play: OrderPlay
    order: Json | None
    history: Json | None
    shipments: list[Json]
    reservation: Json | None  # read for cancelled and rejected orders only
    unreadable: list[str]  # services that did not answer about this order, however long we asked

    @property
    def status(self) -> str | None:
        return None if self.order is None else str(self.order["status"])

    def history_agrees(self) -> bool:
        return self.order is None or (self.history is not None and self.history["status"] == self.order["status"])

    def units_left_warehouse(self) -> Counter[Cell]:
        units: Counter[Cell] = Counter()
        for shipment in self.shipments:
            if shipment["status"] in LEFT_WAREHOUSE:
                for line in shipment["lines"]:
                    units[(line["sku"], shipment["warehouse"])] += int(line["quantity"])
        return units


@dataclass
class Final:
    orders: list[OrderFinal]
    stock: dict[str, Json | None]
    dead_letters: list[DeadLetter]
    malformed_orders_known: list[str]  # ids of malformed OrderPlaced the orders service knows (must be none)

    def dispatched(self) -> Counter[Cell]:
        units: Counter[Cell] = Counter()
        for order in self.orders:
            units.update(order.units_left_warehouse())
        return units

    def on_hand(self) -> dict[Cell, Json]:
        levels: dict[Cell, Json] = {}
        for sku, view in self.stock.items():
            for level in (view or {}).get("warehouses", []):
                levels[(sku, level["warehouse"])] = level
        return levels

    def expected_on_hand(self, ledger: Ledger) -> Counter[Cell]:
        expected: Counter[Cell] = Counter()
        for counts in (ledger.received, ledger.adjusted, ledger.restocked):
            for cell, units in counts.items():
                expected[cell] += units
        for cell, units in self.dispatched().items():
            expected[cell] -= units
        return expected

    def stock_off(self, ledger: Ledger) -> list[Cell]:
        """Cells whose on hand differs from the ledger, or still hold an allocation."""
        expected, levels = self.expected_on_hand(ledger), self.on_hand()
        cells = set(expected) | set(levels)
        return sorted(
            cell
            for cell in cells
            if levels.get(cell, {}).get("on_hand", 0) != expected[cell] or levels.get(cell, {}).get("allocated", 0)
        )


async def read_order(api: SystemApi, play: OrderPlay) -> OrderFinal:
    order_id = play.order_id
    unreadable: list[str] = []
    nothing: list[Json] = []

    async def read(service: str, fetch: Callable[[], Awaitable[T]], otherwise: T) -> T:
        try:
            return await patiently(api, service, fetch)
        except Unavailable:
            unreadable.append(service)
            return otherwise

    order = await read("orders", partial(api.order, order_id), None)
    history = await read("customer_service", partial(api.history, order_id), None)
    shipments = await read("shipping", partial(api.shipments, order_id), nothing)
    reservation = None
    if order is not None and order["status"] in ("cancelled", "rejected"):
        reservation = await read("inventory", partial(api.reservation, order_id), None)
    return OrderFinal(play, order, history, shipments, reservation, unreadable)


async def read_orders(api: SystemApi, plays: list[OrderPlay], readers: int = 12) -> list[OrderFinal]:
    gate = asyncio.Semaphore(readers)

    async def one(play: OrderPlay) -> OrderFinal:
        async with gate:
            return await read_order(api, play)

    return list(await asyncio.gather(*(one(play) for play in plays)))


async def read_stock(api: SystemApi) -> dict[str, Json | None]:
    """Each sku's stock view; None for a sku inventory does not know or did not answer about."""

    async def view(sku: str) -> Json | None:
        try:
            return await patiently(api, "inventory", partial(api.stock, sku))
        except Unavailable:
            return None

    views = await asyncio.gather(*(view(sku) for sku in SKUS))
    return dict(zip(SKUS, views, strict=True))


async def patiently(api: SystemApi, service: str, read: Callable[[], Awaitable[T]]) -> T:
    """The answer of a read that may meet a replica still restarting; the last try's error otherwise. A
    service that stayed silent through one whole round is wedged, not restarting: it is asked once per read
    from then on (else reading back thousands of orders from it would take hours)."""
    for _ in range(0 if service in api.silent else ATTEMPTS - 1):
        try:
            return await read()
        except Unavailable:
            await asyncio.sleep(3)
    try:
        return await read()
    except Unavailable:
        api.silent.add(service)
        raise
