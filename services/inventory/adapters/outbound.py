"""What inventory publishes on `inventory.events.v1` for the events of its own log.

Reservations are keyed by order id (the orders saga reads them in order per order); stock levels, refusals
and low-stock warnings by sku (in order per sku).
"""

from __future__ import annotations

from services.inventory.domain.reservation import AllocationRecord, LineRecord, Reservation
from services.inventory.domain.sku_stock import SkuStock
from services.inventory.domain.stock_item import StockItem
from shared.contracts.envelope import Contract
from shared.contracts.inventory import (
    Allocation,
    LowStockV1,
    ReturnedStockLine,
    ReturnRestockedV1,
    StockAdjustmentRefusedV1,
    StockBackorderedV1,
    StockLevelChangedV1,
    StockReleasedV1,
    StockReservedV1,
)
from shared.contracts.orders import SkuQuantity
from shared.contracts.topics import INVENTORY_EVENTS
from shared.messaging.outbound import Outbound


def to_outbound(event: object) -> Outbound | None:
    if isinstance(event, StockItem.LevelChanged):
        order_id = event.order_id if isinstance(event, StockItem.OrderLevelChanged) else None
        level = StockLevelChangedV1(
            sku=event.sku,
            warehouse=event.warehouse,
            on_hand=event.on_hand,
            allocated=event.allocated,
            available=event.on_hand - event.allocated,
            cause=event.cause,
            order_id=order_id,
        )
        # Keyed by sku for its consumers, traced with the order whose reservation, release or return moved it.
        return Outbound(topic=INVENTORY_EVENTS, key=event.sku, type="StockLevelChanged", data=level, trace_key=order_id)
    if isinstance(event, StockItem.AdjustmentRefused):
        refused = StockAdjustmentRefusedV1(
            sku=event.sku, warehouse=event.warehouse, delta=event.delta, reason=event.reason, refusal=event.refusal
        )
        return _by_sku("StockAdjustmentRefused", event.sku, refused)
    if isinstance(event, SkuStock.LowStockReported):
        low = LowStockV1(sku=event.sku, available=event.available, threshold=event.threshold)
        return _by_sku("LowStock", event.sku, low)
    return _reservation_outbound(event)


def _reservation_outbound(event: object) -> Outbound | None:
    if isinstance(event, Reservation.Allocated | Reservation.BackorderFilled):
        reserved = StockReservedV1(order_id=event.order_id, allocations=_allocations(event.allocations))
        return _by_order("StockReserved", event.order_id, reserved)
    if isinstance(event, Reservation.Backordered):
        backordered = StockBackorderedV1(order_id=event.order_id, lines=_lines(event.lines))
        return _by_order("StockBackordered", event.order_id, backordered)
    if isinstance(event, Reservation.Released):
        if not event.allocations and not event.backorders_dropped:
            return None  # cancelled before anything was held: nothing to tell
        released = StockReleasedV1(
            order_id=event.order_id,
            allocations=_allocations(event.allocations),
            backorders_dropped=_lines(event.backorders_dropped),
        )
        return _by_order("StockReleased", event.order_id, released)
    if isinstance(event, Reservation.ReturnRestocked):
        lines = [ReturnedStockLine(**line) for line in event.lines]
        return _by_order("ReturnRestocked", event.order_id, ReturnRestockedV1(order_id=event.order_id, lines=lines))
    return None


def _allocations(records: list[AllocationRecord]) -> list[Allocation]:
    return [Allocation(**record) for record in records]


def _lines(records: list[LineRecord]) -> list[SkuQuantity]:
    return [SkuQuantity(**record) for record in records]


def _by_sku(type_: str, sku: str, data: Contract) -> Outbound:
    return Outbound(topic=INVENTORY_EVENTS, key=sku, type=type_, data=data)


def _by_order(type_: str, order_id: str, data: Contract) -> Outbound:
    return Outbound(topic=INVENTORY_EVENTS, key=order_id, type=type_, data=data)
