"""Receipts, count corrections, dispatches and returns: how on hand and allocated move."""

from __future__ import annotations

import pytest

from shared.contracts.envelope import InvalidMessage
from tests.unit.deliveries import deliver
from tests.unit.inventory.factories import (
    OTHER_SKU,
    SKU,
    delivery,
    inventory,
    reservation_requested,
    return_received,
    shipment_dispatched,
    stock_adjusted,
    stock_received,
)
from tests.unit.inventory.published import published


def levels(app_stock: dict[str, object] | None, warehouse: str) -> tuple[object, object, object]:
    assert app_stock is not None
    warehouses = app_stock["warehouses"]
    assert isinstance(warehouses, list)
    [row] = [w for w in warehouses if w["warehouse"] == warehouse]
    return row["on_hand"], row["allocated"], row["available"]


def test_an_unknown_warehouse_is_created_on_first_receipt() -> None:
    app = inventory()

    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 4))
    deliver(app.receive_stock, delivery(), stock_received("NEW-9", 6))
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 1))

    stock = app.get_stock(SKU)
    assert stock is not None
    assert [w["warehouse"] for w in stock["warehouses"]] == ["LIS-1", "NEW-9"]
    assert levels(stock, "LIS-1") == (5, 0, 5)
    assert stock["on_hand"] == 11


def test_dispatch_consumes_the_allocation() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 10))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 3)))

    deliver(app.consume_allocation, delivery(), shipment_dispatched("SO-1", "LIS-1", (SKU, 3)))

    assert levels(app.get_stock(SKU), "LIS-1") == (7, 0, 7)
    reservation = app.get_reservation("SO-1")
    assert reservation is not None
    assert reservation["allocations"] == []
    assert reservation["shipped"] == [{"sku": SKU, "warehouse": "LIS-1", "quantity": 3}]
    shipped = published(app, "StockLevelChanged")[-1].data.model_dump()
    assert (shipped["cause"], shipped["order_id"], shipped["on_hand"]) == ("shipped", "SO-1", 7)


def test_the_same_shipment_dispatched_twice_is_consumed_once() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 10))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 3)))

    deliver(app.consume_allocation, delivery(), shipment_dispatched("SO-1", "LIS-1", (SKU, 3)))
    deliver(app.consume_allocation, delivery(), shipment_dispatched("SO-1", "LIS-1", (SKU, 3)))

    assert levels(app.get_stock(SKU), "LIS-1") == (7, 0, 7)


def test_a_dispatch_for_an_order_without_reservation_is_invalid() -> None:
    app = inventory()

    with pytest.raises(InvalidMessage, match=r"^data\.order_id"):
        deliver(app.consume_allocation, delivery(), shipment_dispatched("SO-X", "LIS-1", (SKU, 1)))


def test_a_count_correction_changes_on_hand() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 10))

    deliver(app.adjust_stock, delivery(), stock_adjusted(-4, reason="damaged in storage"))

    assert levels(app.get_stock(SKU), "LIS-1") == (6, 0, 6)
    assert published(app, "StockLevelChanged")[-1].data.model_dump()["cause"] == "adjusted"


def test_an_adjustment_below_allocated_is_refused_with_the_reason() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 10))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 8)))

    deliver(app.adjust_stock, delivery(), stock_adjusted(-3, reason="cycle count"))

    assert levels(app.get_stock(SKU), "LIS-1") == (10, 8, 2)
    [refused] = published(app, "StockAdjustmentRefused")
    assert refused.key == SKU
    data = refused.data.model_dump()
    assert (data["delta"], data["reason"]) == (-3, "cycle count")
    assert "below the 8 allocated" in data["refusal"]


def test_a_negative_correction_where_the_sku_was_never_stocked_is_invalid() -> None:
    app = inventory()

    with pytest.raises(InvalidMessage, match=r"^data\.warehouse"):
        deliver(app.adjust_stock, delivery(), stock_adjusted(-1, warehouse="LIS-1"))

    assert app.get_stock(SKU) is None


def test_resellable_returns_go_back_on_hand_where_they_shipped_from_damaged_do_not() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 10))
    deliver(app.receive_stock, delivery(), stock_received("MAD-1", 20))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 3)))
    deliver(app.consume_allocation, delivery(), shipment_dispatched("SO-1", "MAD-1", (SKU, 3)))

    deliver(app.receive_return, delivery(), return_received("SO-1", (SKU, 1, "resellable"), (SKU, 2, "damaged")))

    stock = app.get_stock(SKU)
    assert levels(stock, "MAD-1") == (18, 0, 18)
    assert levels(stock, "LIS-1") == (10, 0, 10)
    [restocked] = published(app, "ReturnRestocked")
    assert restocked.key == "SO-1"
    assert restocked.data.model_dump() == {
        "order_id": "SO-1",
        "lines": [{"sku": SKU, "warehouse": "MAD-1", "resellable": 1, "damaged": 2}],
    }


def test_low_stock_is_reported_once_per_crossing() -> None:
    app = inventory(low_stock_threshold=5)
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 6))

    for n in range(4):  # available 5, 4, 3, 2: below 5 from the second order on
        deliver(app.reserve_stock, delivery(), reservation_requested(f"SO-{n}", (SKU, 1)))
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 10))  # back to 12: re-armed
    deliver(app.adjust_stock, delivery(), stock_adjusted(-9))  # 3: a new crossing

    low = [m.data.model_dump() for m in published(app, "LowStock")]
    assert low == [
        {"sku": SKU, "available": 4, "threshold": 5},
        {"sku": SKU, "available": 3, "threshold": 5},
    ]
    assert {m.key for m in published(app, "LowStock")} == {SKU}


def test_a_sku_can_have_its_own_low_stock_threshold() -> None:
    app = inventory(low_stock_threshold=5, low_stock_thresholds={OTHER_SKU: 50})

    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 20, sku=OTHER_SKU))
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 20, sku=SKU))

    assert [m.data.model_dump() for m in published(app, "LowStock")] == [
        {"sku": OTHER_SKU, "available": 20, "threshold": 50}
    ]
