"""Inventory use cases: each reacts to one message and stages all it changed; the runtime commits a batch.

No overselling with any number of replicas: inventory keeps one log, so its consumer group gives all of it to one
member (shared/messaging/ownership.py) — a single allocation writer that sees every request and receipt in one
order, which is what keeps backorders strictly first come, first served. The others stand by. Should two
processes ever write (a rebalance in flight), the log's commit number fences them: the loser reloads and retries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import EnvType

from services.inventory.domain.allocation import Line, allocate_line, merge_lines, plan_reservation
from services.inventory.domain.reservation import Reservation
from services.inventory.domain.returns import NotReturnable, ReturnedUnits, ReturnRecord
from services.inventory.domain.sku_stock import SkuStock
from services.inventory.domain.stock_item import StockItem
from shared.contracts.envelope import InvalidMessage
from shared.contracts.orders import OrderCancelledV1, StockReservationRequestedV1
from shared.contracts.shipping import ShipmentDispatchedV1
from shared.contracts.warehouse import ReturnReceivedV1, StockAdjustedV1, StockReceivedV1
from shared.messaging.application import ServiceApplication

A = TypeVar("A", bound=Aggregate)


class InventoryApplication(ServiceApplication):
    name = "inventory"  # the event log's collections: inventory_events, ...
    # Stock items and skus live as long as the catalogue and change on every order: snapshots keep loading short.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {StockItem: 50, SkuStock: 50}

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        low_stock_threshold: int = 5,
        low_stock_thresholds: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__(env)
        self.low_stock_threshold = low_stock_threshold
        self.low_stock_thresholds = dict(low_stock_thresholds or {})

    # Use cases

    def receive_stock(self, payload: StockReceivedV1) -> None:
        work = _Work(self)
        work.stock_item(payload.sku, payload.warehouse, register=True).receive(payload.quantity)
        self._fill_backorders(work, payload.sku)
        self._save(work)

    def adjust_stock(self, payload: StockAdjustedV1) -> None:
        work = _Work(self)
        # A count may find goods where the sku was never received; it can never remove goods from there.
        if payload.delta < 0 and not work.sku_stock(payload.sku).holds(payload.warehouse):
            raise InvalidMessage(
                f"data.warehouse: {payload.warehouse!r} holds no stock of sku {payload.sku!r} to adjust"
            )
        work.stock_item(payload.sku, payload.warehouse, register=True).adjust(payload.delta, payload.reason)
        if payload.delta > 0:
            self._fill_backorders(work, payload.sku)
        self._save(work)

    def reserve_stock(self, payload: StockReservationRequestedV1) -> None:
        work = _Work(self)
        reservation = work.reservation(payload.order_id)
        if reservation.requested or reservation.released:
            # Asked twice, or cancelled before we saw the request: nothing (more) to reserve.
            self._save(work)
            return
        lines = merge_lines(Line(line.sku, line.quantity) for line in payload.lines)
        reservation.request(lines)
        # A sku that others already wait for is not allocated ahead of them: the queue is strictly FIFO.
        waiting = [line for line in lines if work.sku_stock(line.sku).next_backorder() is not None]
        allocatable = [line for line in lines if line not in waiting]
        available = {line.sku: work.availability(line.sku) for line in allocatable}
        plan = plan_reservation(allocatable, available)
        for allocation in plan.allocations:
            work.stock_item(allocation.sku, allocation.warehouse).allocate(payload.order_id, allocation.quantity)
        if plan.allocations:
            reservation.allocate(plan.allocations)
        backordered = [line for line in lines if line in waiting or line in plan.backordered]
        for line in backordered:
            work.sku_stock(line.sku).queue_backorder(payload.order_id, line.quantity)
        if backordered:
            reservation.backorder(backordered)
        self._save(work)

    def release_order(self, payload: OrderCancelledV1) -> None:
        work = _Work(self)
        reservation = work.reservation(payload.order_id)
        if reservation.released:
            self._save(work)
            return
        for allocation in reservation.allocations:
            item = work.stock_item(allocation["sku"], allocation["warehouse"])
            item.release(payload.order_id, allocation["quantity"])
        for backorder in reservation.backorders:
            work.sku_stock(backorder["sku"]).drop_backorder(payload.order_id)
        freed = sorted({a["sku"] for a in reservation.allocations} | {b["sku"] for b in reservation.backorders})
        # Units released were never shipped: a return that waited for them can never be taken back.
        reservation.refuse_waiting_returns("the order was cancelled: the units it returned never shipped")
        reservation.release()
        # Released units, and a queue without this order at its head, may let others' backorders through.
        for sku in freed:
            self._fill_backorders(work, sku)
        self._save(work)

    def consume_allocation(self, payload: ShipmentDispatchedV1) -> None:
        work = _Work(self)
        reservation = work.existing_reservation(payload.order_id)
        if reservation is None:
            raise InvalidMessage(f"data.order_id: no reservation for order {payload.order_id!r}")
        if reservation.has_shipped(payload.shipment_id):
            self._save(work)
            return
        shipped = merge_lines(Line(line.sku, line.quantity) for line in payload.lines)
        consumed_lines: list[Line] = []
        for line in shipped:
            # What was allocated to the order there is consumed (on hand and allocated drop).
            quantity = min(line.quantity, reservation.allocated_at(line.sku, payload.warehouse))
            if quantity > 0:
                work.stock_item(line.sku, payload.warehouse).ship(payload.order_id, quantity)
            consumed_lines.append(Line(line.sku, quantity))
            # Units beyond it left all the same (a dispatch after the order's release: see ship_unallocated).
            beyond = line.quantity - quantity
            if beyond > 0 and work.sku_stock(line.sku).holds(payload.warehouse):
                work.stock_item(line.sku, payload.warehouse).ship_unallocated(payload.order_id, beyond)
        reservation.record_shipment(payload.shipment_id, payload.warehouse, shipped, consumed_lines)
        self._take_back_waiting_returns(work, reservation)
        self._save(work)

    def receive_return(self, payload: ReturnReceivedV1) -> None:
        work = _Work(self)
        reservation = work.existing_reservation(payload.order_id)
        if reservation is None or not reservation.requested:
            # Nothing of this order ever left a warehouse, so nothing can come back; and no reservation is
            # opened for it (a phantom one once answered GET /reservations/<unknown> with 200).
            raise InvalidMessage(
                f"data.order_id: unknown order {payload.order_id!r}: inventory never reserved stock for it"
            )
        lines = [ReturnedUnits(line.sku, line.quantity, line.condition) for line in payload.lines]
        try:
            returned = reservation.plan_return(lines)
        except NotReturnable as refusal:
            if not reservation.can_wait_for_dispatch(lines):
                raise InvalidMessage(f"data.lines.{refusal.line}.{refusal.field}: {refusal.reason}") from None
            reservation.wait_for_dispatch(lines)  # stock moves once the dispatch is seen
        else:
            self._restock(work, reservation, returned)
        self._save(work)

    # Queries

    def get_stock(self, sku: str) -> dict[str, Any] | None:
        work = _Work(self)
        stock = work.existing_sku_stock(sku)
        if stock is None:
            return None
        items = [work.stock_item(sku, warehouse) for warehouse in stock.warehouses]
        warehouses = [
            {"warehouse": i.warehouse, "on_hand": i.on_hand, "allocated": i.allocated, "available": i.available}
            for i in items
        ]
        return {
            "sku": sku,
            "warehouses": warehouses,
            "on_hand": sum(i.on_hand for i in items),
            "allocated": sum(i.allocated for i in items),
            "available": sum(i.available for i in items),
            "backordered": stock.backordered_quantity(),
        }

    def get_reservation(self, order_id: str) -> dict[str, Any] | None:
        reservation = _Work(self).existing_reservation(order_id)
        if reservation is None:
            return None
        return {
            "order_id": order_id,
            "lines": [dict(line) for line in reservation.lines],
            "allocations": [dict(a) for a in reservation.allocations],
            "backordered": [dict(b) for b in reservation.backorders],
            "shipped": [dict(s) for s in reservation.shipped],
            "released": reservation.released,
        }

    def low_stock_threshold_of(self, sku: str) -> int:
        return self.low_stock_thresholds.get(sku, self.low_stock_threshold)

    # Steps shared by the use cases

    def _fill_backorders(self, work: _Work, sku: str) -> None:
        """Fills the sku's backorders oldest first; stops at the first that cannot be filled whole."""
        stock = work.sku_stock(sku)
        while (oldest := stock.next_backorder()) is not None:
            allocations = allocate_line(Line(sku, oldest["quantity"]), work.availability(sku))
            if allocations is None:
                return
            for allocation in allocations:
                work.stock_item(sku, allocation.warehouse).allocate(oldest["order_id"], allocation.quantity)
            stock.fill_backorder(oldest["order_id"])
            work.reservation(oldest["order_id"]).fill_backorder(allocations)

    def _restock(
        self, work: _Work, reservation: Reservation, returned: list[ReturnRecord], waited: bool = False
    ) -> None:
        for record in returned:
            work.stock_item(record["sku"], record["warehouse"]).restock(
                reservation.order_id, record["resellable"], record["damaged"]
            )
        reservation.record_return(returned, waited=waited)
        for sku in sorted({record["sku"] for record in returned if record["resellable"]}):
            self._fill_backorders(work, sku)

    def _take_back_waiting_returns(self, work: _Work, reservation: Reservation) -> None:
        """Returns that arrived before this dispatch, oldest first, as far as what has shipped now covers them."""
        while (waiting := reservation.oldest_waiting_return()) is not None:
            try:
                returned = reservation.plan_return(waiting)
            except NotReturnable:
                return  # still ahead of another dispatch
            self._restock(work, reservation, returned, waited=True)

    def _save(self, work: _Work) -> None:
        for sku in work.skus_with_changed_stock():
            available = sum(work.availability(sku).values())
            work.sku_stock(sku).watch_availability(available, self.low_stock_threshold_of(sku))
        self.stage(*work.aggregates())


class _Work:
    """The aggregates one use case reads and changes: each loaded once (two copies of one aggregate would
    conflict with each other on save), then saved together in one commit."""

    def __init__(self, app: InventoryApplication) -> None:
        self._app = app
        self._loaded: dict[UUID, Aggregate | None] = {}

    def existing_sku_stock(self, sku: str) -> SkuStock | None:
        stock = self._find(SkuStock.create_id(sku))
        assert stock is None or isinstance(stock, SkuStock)
        return stock

    def sku_stock(self, sku: str) -> SkuStock:
        return self.existing_sku_stock(sku) or self._add(SkuStock(sku))

    def stock_item(self, sku: str, warehouse: str, *, register: bool = False) -> StockItem:
        """A stock item the sku's record holds; with `register`, an unknown warehouse is added first."""
        stock = self.sku_stock(sku)
        if not stock.holds(warehouse):
            if not register:
                raise LookupError(f"{sku} is not stocked in {warehouse}")
            stock.add_warehouse(warehouse)
            return self._add(StockItem(sku, warehouse))
        item = self._find(StockItem.create_id(sku, warehouse))
        assert isinstance(item, StockItem)
        return item

    def availability(self, sku: str) -> dict[str, int]:
        return {w: self.stock_item(sku, w).available for w in self.sku_stock(sku).warehouses}

    def existing_reservation(self, order_id: str) -> Reservation | None:
        reservation = self._find(Reservation.create_id(order_id))
        assert reservation is None or isinstance(reservation, Reservation)
        return reservation

    def reservation(self, order_id: str) -> Reservation:
        return self.existing_reservation(order_id) or self._add(Reservation(order_id))

    def skus_with_changed_stock(self) -> list[str]:
        return sorted({a.sku for a in self._loaded.values() if isinstance(a, StockItem) and a.pending_events})

    def aggregates(self) -> Iterable[Aggregate]:
        return [aggregate for aggregate in self._loaded.values() if aggregate is not None]

    def _find(self, aggregate_id: UUID) -> Aggregate | None:
        if aggregate_id not in self._loaded:
            self._loaded[aggregate_id] = self._app.find(aggregate_id)
        return self._loaded[aggregate_id]

    def _add(self, aggregate: A) -> A:
        self._loaded[aggregate.id] = aggregate
        return aggregate
