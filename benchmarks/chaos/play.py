"""The outside world in motion: the storefront places the planned orders at a steady rate while a few workers
visit every open order in turn, read its state over HTTP, and let the storefront, the warehouse or the
carriers take the next step it calls for — so the play keeps pace with the system, however slow it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from benchmarks.chaos.api import Json, SystemApi, Unavailable
from benchmarks.chaos.carriers import Carriers
from benchmarks.chaos.ledger import Ledger, OrderPlay
from benchmarks.chaos.narrator import Narrator
from benchmarks.chaos.scenario import SKUS, Scenario
from benchmarks.chaos.stock_watch import StockWatch
from benchmarks.chaos.storefront import Storefront
from benchmarks.chaos.warehouse import WAITING, Warehouse

VISITORS = 6
# An order that changed is looked at again soon; one that did not, less and less often.
FIRST_LOOK_S = 1.0
SLOWEST_LOOK_S = 8.0
# Shipment statuses after the parcel left the warehouse (the carrier's statuses follow dispatch).
LEFT_WAREHOUSE = frozenset(
    {
        "dispatched",
        "label_created",
        "picked_up",
        "in_transit",
        "out_for_delivery",
        "available_for_pickup",
        "delivery_attempted",
        "delayed",
        "exception",
        "delivered",
        "returned_to_sender",
    }
)


@dataclass
class Play:
    scenario: Scenario
    api: SystemApi
    storefront: Storefront
    warehouse: Warehouse
    carriers: Carriers
    stock: StockWatch
    ledger: Ledger
    narrator: Narrator
    rng: random.Random
    plays: dict[str, OrderPlay] = field(default_factory=dict)
    placing_done: bool = False
    visits: int = 0
    last_moved: float = field(default_factory=time.monotonic)  # when a visit last saw an order change
    visit_errors: Counter[str] = field(default_factory=Counter)
    # Open orders by when they are next due for a look (each open order is in here once, or being visited).
    _due: list[tuple[float, int, str]] = field(default_factory=list)
    _tiebreak: itertools.count[int] = field(default_factory=itertools.count)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def open_orders(self) -> list[OrderPlay]:
        return [play for play in self.plays.values() if not play.done]

    def all_done(self) -> bool:
        return self.placing_done and not self.open_orders() and not self._tasks

    # --- the storefront's schedule ---------------------------------------------------------------------

    async def place_orders(self) -> None:
        """One order every 1/rate seconds from the start (a late one does not push the others back)."""
        started = time.monotonic()
        interval = self.scenario.load_s / max(1, len(self.scenario.orders))
        malformed = Counter(self.scenario.malformed_after)
        for n, spec in enumerate(self.scenario.orders):
            await asyncio.sleep(max(0.0, started + n * interval - time.monotonic()))
            play = OrderPlay(spec, wants_return=spec.wants_return)
            await self.storefront.place(play)
            self.plays[spec.order_id] = play
            self._look_again(play, FIRST_LOOK_S)
            if spec.cancel_after_s is not None:
                self._later(self.storefront.cancel_later(play, spec.cancel_after_s))
            for _ in range(malformed[n]):
                await self.storefront.send_malformed(self.storefront.malformed_sent)
            if n % 50 == 49:
                await self.warehouse.found_in_count(self.rng.choice(SKUS))
        self.placing_done = True

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- the warehouse's receipts ----------------------------------------------------------------------

    async def restock(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for sku in SKUS:
                waiting = self._backordered(sku)
                if waiting > 0:
                    await self.warehouse.fill_backorders(sku, waiting)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)

    def _backordered(self, sku: str) -> int:
        """What inventory reports as backordered, or else what the open backordered orders ask for."""
        view = self.stock.latest.get(sku)
        if view is not None and "backordered" in view:
            return int(view["backordered"])
        return sum(play.spec.quantities.get(sku, 0) for play in self.open_orders() if play.seen_status == "backordered")

    # --- visiting open orders --------------------------------------------------------------------------

    async def visit_orders(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._visitor(stop) for _ in range(VISITORS)))

    async def _visitor(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not self._due or self._due[0][0] > time.monotonic():
                await asyncio.sleep(0.1)
                continue
            _, _, order_id = heapq.heappop(self._due)
            play = self.plays[order_id]
            changed = False
            try:
                changed = await self.visit(play)
            except Unavailable as error:
                self.visit_errors[f"{error} unavailable"] += 1
            except Exception as error:  # a visit must never end the run; the order is looked at again
                self.visit_errors[type(error).__name__] += 1
            if play.done:
                continue
            play.quiet_visits = 0 if changed else play.quiet_visits + 1
            self._look_again(play, min(SLOWEST_LOOK_S, FIRST_LOOK_S * 1.5**play.quiet_visits))

    def _look_again(self, play: OrderPlay, after_s: float) -> None:
        due = time.monotonic() + after_s * self.rng.uniform(0.8, 1.2)
        heapq.heappush(self._due, (due, next(self._tiebreak), play.order_id))

    async def visit(self, play: OrderPlay) -> bool:
        """One look at an order and the next step it calls for; whether anything moved."""
        self.visits += 1
        order = await self.api.order(play.order_id)
        if order is None:
            return False  # not processed yet (or lost: the end of the run will tell)
        changed = bool(order["status"] != play.seen_status)
        if changed:
            self.last_moved = time.monotonic()
        play.seen_status = order["status"]
        if order["status"] in play.final_status():
            play.done = True
            return True
        if self._has_work_for_warehouse(play, order):
            changed |= await self._warehouse_step(play)
        if order["status"] == "delivered" and play.wants_return and play.returned is None:
            await self.storefront.request_return(play)
            changed = True
        elif play.returned is not None and not play.returned.received:
            changed |= await self._return_step(play, order)
        return changed

    def _has_work_for_warehouse(self, play: OrderPlay, order: Json) -> bool:
        """A shipment orders asked for that is not on its way yet; without that detail, a status that may
        have one (a partly reserved order shows `backordered` while its reserved part waits for picking)."""
        if "shipments" in order:
            listed = {shipment["shipment_id"] for shipment in order["shipments"]}
            return bool(listed - play.carried)
        return order["status"] in ("reserved", "backordered", "partially_shipped", "shipped")

    async def _warehouse_step(self, play: OrderPlay) -> bool:
        shipments = await self.api.shipments(play.order_id)
        self._check_not_overshipped(play, shipments)
        moved = False
        for shipment in self.warehouse.work_waiting(play, shipments, pick_delay_s=self.rng.uniform(0.5, 2.0)):
            await self.warehouse.pick_pack_dispatch(play, shipment)
            moved = True
        for shipment in shipments:
            shipment_id = shipment["shipment_id"]
            on_its_way = shipment["status"] in LEFT_WAREHOUSE and shipment_id in play.tracking
            if on_its_way and shipment_id not in play.carried:
                # Only now: a carrier update about a parcel shipping has not seen dispatched would be early.
                play.carried.add(shipment_id)
                self._later(self.carriers.deliver(*play.tracking[shipment_id]))
                moved = True
            elif shipment["status"] == "cancelled":
                play.carried.add(shipment_id)  # nothing more to do for it
        return moved

    def _check_not_overshipped(self, play: OrderPlay, shipments: list[Json]) -> None:
        """Never more units in an order's live shipments than it ordered, at any moment."""
        units: Counter[str] = Counter()
        for shipment in shipments:
            if shipment["status"] in WAITING or shipment["status"] in LEFT_WAREHOUSE:
                units.update({line["sku"]: int(line["quantity"]) for line in shipment["lines"]})
        ordered = play.spec.quantities
        for sku, quantity in units.items():
            if quantity > ordered.get(sku, 0):
                self.ledger.overshipped_in_flight.append(
                    f"{play.order_id} {sku}: {quantity} in shipments, {ordered.get(sku, 0)} ordered"
                )

    async def _return_step(self, play: OrderPlay, order: Json) -> bool:
        """Once orders approved the return, the parcel arrives at the warehouse."""
        returns = order.get("returns", [])
        if not returns:
            return False
        decision = returns[0]
        if decision["status"] == "declined":
            play.return_declined = str(decision.get("refusal"))
            play.returned = None
            play.wants_return = False
            return True
        if decision["status"] == "approved":
            await self.warehouse.receive_return(play)
            return True
        return False

    # --- progress ----------------------------------------------------------------------------------------

    def progress(self) -> str:
        statuses = Counter(play.seen_status or "unseen" for play in self.plays.values())
        shown = " ".join(f"{status}={count}" for status, count in sorted(statuses.items()))
        done = sum(play.done for play in self.plays.values())
        # Failed visits are normal while a service is down; a growing count of anything else is a harness
        # that no longer understands the API's answers.
        failing = f" | failed visits {dict(self.visit_errors)}" if self.visit_errors else ""
        return f"placed {len(self.plays)}/{len(self.scenario.orders)}, final {done} | {shown}{failing}"
