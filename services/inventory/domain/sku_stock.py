"""One sku across warehouses: where it is stocked, who waits for it (backorders), and whether it runs low."""

from __future__ import annotations

from typing import TypedDict
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.inventory.domain import INVENTORY_NAMESPACE


class Backorder(TypedDict):
    order_id: str
    quantity: int
    seq: int  # arrival order: the queue is filled strictly by it


class BackorderError(Exception):
    pass


class AlreadyWaiting(BackorderError):
    pass


class OutOfTurn(BackorderError):
    pass


class NotWaiting(BackorderError):
    pass


class AlreadyStocked(Exception):
    pass


class SkuStock(Aggregate):
    """Changed together with the sku's stock items whenever backorders or the low-stock state move, so two
    writers racing over the same queue or threshold conflict (optimistic concurrency) instead of both winning.
    State is plain lists and dicts so snapshots transcode to JSON."""

    class Registered(Aggregate.Created):
        sku: str

    class WarehouseAdded(Aggregate.Event):
        warehouse: str

    class BackorderQueued(Aggregate.Event):
        order_id: str
        quantity: int
        seq: int

    class BackorderFilled(Aggregate.Event):
        order_id: str

    class BackorderDropped(Aggregate.Event):
        order_id: str

    class LowStockReported(Aggregate.Event):
        sku: str
        available: int
        threshold: int

    class LowStockCleared(Aggregate.Event):
        available: int
        threshold: int

    @staticmethod
    def create_id(sku: str) -> UUID:
        return uuid5(INVENTORY_NAMESPACE, f"sku:{sku}")

    @event(Registered)
    def __init__(self, sku: str) -> None:
        self.sku = sku
        self.warehouses: list[str] = []
        self.backorders: list[Backorder] = []
        self.next_seq = 1
        self.low = False

    def holds(self, warehouse: str) -> bool:
        return warehouse in self.warehouses

    def next_backorder(self) -> Backorder | None:
        return self.backorders[0] if self.backorders else None

    def backordered_quantity(self) -> int:
        return sum(backorder["quantity"] for backorder in self.backorders)

    def is_waiting(self, order_id: str) -> bool:
        return any(backorder["order_id"] == order_id for backorder in self.backorders)

    # Commands

    def add_warehouse(self, warehouse: str) -> None:
        if self.holds(warehouse):
            raise AlreadyStocked(f"{self.sku} already stocked in {warehouse}")
        self._record_warehouse(warehouse=warehouse)

    def queue_backorder(self, order_id: str, quantity: int) -> None:
        if self.is_waiting(order_id):
            raise AlreadyWaiting(f"{order_id} already waits for {self.sku}")
        self._record_backorder(order_id=order_id, quantity=quantity, seq=self.next_seq)

    def fill_backorder(self, order_id: str) -> None:
        """Only the oldest backorder may be filled: a later, smaller one never jumps ahead."""
        oldest = self.next_backorder()
        if oldest is None or oldest["order_id"] != order_id:
            raise OutOfTurn(f"{order_id} is not the oldest backorder of {self.sku}")
        self._record_fill(order_id=order_id)

    def drop_backorder(self, order_id: str) -> None:
        if not self.is_waiting(order_id):
            raise NotWaiting(f"{order_id} does not wait for {self.sku}")
        self._record_drop(order_id=order_id)

    def watch_availability(self, available: int, threshold: int) -> None:
        """Reports low stock once when availability falls below the threshold, and re-arms once it recovers."""
        if available < threshold and not self.low:
            self._report_low_stock(sku=self.sku, available=available, threshold=threshold)
        elif available >= threshold and self.low:
            self._clear_low_stock(available=available, threshold=threshold)

    # Events

    @event(WarehouseAdded)
    def _record_warehouse(self, warehouse: str) -> None:
        self.warehouses.append(warehouse)

    @event(BackorderQueued)
    def _record_backorder(self, order_id: str, quantity: int, seq: int) -> None:
        self.backorders.append(Backorder(order_id=order_id, quantity=quantity, seq=seq))
        self.next_seq = seq + 1

    @event(BackorderFilled)
    def _record_fill(self, order_id: str) -> None:
        self.backorders = [b for b in self.backorders if b["order_id"] != order_id]

    @event(BackorderDropped)
    def _record_drop(self, order_id: str) -> None:
        self.backorders = [b for b in self.backorders if b["order_id"] != order_id]

    @event(LowStockReported)
    def _report_low_stock(self, sku: str, available: int, threshold: int) -> None:
        self.low = True

    @event(LowStockCleared)
    def _clear_low_stock(self, available: int, threshold: int) -> None:
        self.low = False
