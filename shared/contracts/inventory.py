"""Topic `inventory.events.v1`: what the inventory service publishes (key: order_id for reservations,
sku for stock levels)."""

from __future__ import annotations

from shared.contracts.envelope import Contract, OrderId, Sku, WarehouseCode
from shared.contracts.orders import SkuQuantity


class Allocation(Contract):
    sku: Sku
    warehouse: WarehouseCode
    quantity: int


class StockReservedV1(Contract):
    """Some or all lines of an order are now allocated; each line is allocated whole, never in part."""

    order_id: OrderId
    allocations: list[Allocation]


class StockBackorderedV1(Contract):
    """These lines wait for stock; they are reserved (StockReserved) in order of arrival when it comes."""

    order_id: OrderId
    lines: list[SkuQuantity]


class StockReleasedV1(Contract):
    order_id: OrderId
    allocations: list[Allocation]
    backorders_dropped: list[SkuQuantity]


class StockLevelChangedV1(Contract):
    sku: Sku
    warehouse: WarehouseCode
    on_hand: int
    allocated: int
    available: int
    cause: str
    order_id: OrderId | None = None


class StockAdjustmentRefusedV1(Contract):
    sku: Sku
    warehouse: WarehouseCode
    delta: int
    reason: str
    refusal: str


class LowStockV1(Contract):
    sku: Sku
    available: int
    threshold: int


class ReturnedStockLine(Contract):
    sku: Sku
    warehouse: WarehouseCode
    resellable: int
    damaged: int


class ReturnRestockedV1(Contract):
    """The warehouse received returned goods for an order: resellable units are back on hand, damaged are not.
    The orders service reacts to this (not to the warehouse topic) so each warehouse message has one consumer."""

    order_id: OrderId
    lines: list[ReturnedStockLine]


INVENTORY_TYPES: dict[str, type[Contract]] = {
    "StockReserved": StockReservedV1,
    "StockBackordered": StockBackorderedV1,
    "StockReleased": StockReleasedV1,
    "StockLevelChanged": StockLevelChangedV1,
    "StockAdjustmentRefused": StockAdjustmentRefusedV1,
    "LowStock": LowStockV1,
    "ReturnRestocked": ReturnRestockedV1,
}
