"""Backorders wait per sku and are filled strictly in arrival order."""

from __future__ import annotations

from tests.unit.deliveries import deliver
from tests.unit.inventory.factories import (
    SKU,
    delivery,
    inventory,
    order_cancelled,
    reservation_requested,
    stock_adjusted,
    stock_received,
)
from tests.unit.inventory.published import published


def test_a_later_receipt_fills_backorders_oldest_first() -> None:
    app = inventory()
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 2)))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-2", (SKU, 1)))

    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 3))

    reserved = published(app, "StockReserved")
    assert [m.key for m in reserved] == ["SO-1", "SO-2"]
    assert reserved[0].data.model_dump()["allocations"] == [{"sku": SKU, "warehouse": "LIS-1", "quantity": 2}]
    stock = app.get_stock(SKU)
    assert stock is not None
    assert (stock["allocated"], stock["available"], stock["backordered"]) == (3, 0, 0)


def test_a_later_smaller_backorder_never_jumps_ahead() -> None:
    app = inventory()
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-BIG", (SKU, 5)))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-SMALL", (SKU, 1)))

    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 3))

    assert published(app, "StockReserved") == []
    stock = app.get_stock(SKU)
    assert stock is not None
    assert (stock["available"], stock["backordered"]) == (3, 6)

    deliver(app.receive_stock, delivery(), stock_received("MAD-1", 3))

    assert [m.key for m in published(app, "StockReserved")] == ["SO-BIG", "SO-SMALL"]
    [big] = published(app, "StockReserved")[:1]
    assert big.data.model_dump()["allocations"] == [
        {"sku": SKU, "warehouse": "LIS-1", "quantity": 3},
        {"sku": SKU, "warehouse": "MAD-1", "quantity": 2},
    ]


def test_a_new_order_does_not_take_stock_that_an_older_backorder_waits_for() -> None:
    app = inventory()
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 5)))
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 3))

    deliver(app.reserve_stock, delivery(), reservation_requested("SO-2", (SKU, 1)))

    assert published(app, "StockReserved") == []
    assert [m.key for m in published(app, "StockBackordered")] == ["SO-1", "SO-2"]


def test_cancellation_releases_allocations_and_drops_backorders() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 2))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 2), ("MUG-BLUE", 1)))

    deliver(app.release_order, delivery(), order_cancelled("SO-1"))

    [released] = published(app, "StockReleased")
    assert released.key == "SO-1"
    assert released.data.model_dump() == {
        "order_id": "SO-1",
        "allocations": [{"sku": SKU, "warehouse": "LIS-1", "quantity": 2}],
        "backorders_dropped": [{"sku": "MUG-BLUE", "quantity": 1}],
    }
    stock, mugs = app.get_stock(SKU), app.get_stock("MUG-BLUE")
    assert stock is not None and mugs is not None
    assert (stock["allocated"], stock["available"]) == (0, 2)
    assert mugs["backordered"] == 0
    reservation = app.get_reservation("SO-1")
    assert reservation is not None
    assert reservation["released"] is True


def test_released_stock_fills_a_waiting_backorder() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 2))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 2)))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-2", (SKU, 2)))

    deliver(app.release_order, delivery(), order_cancelled("SO-1"))

    assert [m.key for m in published(app, "StockReserved")] == ["SO-1", "SO-2"]
    reservation = app.get_reservation("SO-2")
    assert reservation is not None
    assert reservation["allocations"] == [{"sku": SKU, "warehouse": "LIS-1", "quantity": 2}]
    assert reservation["backordered"] == []


def test_cancelling_the_oldest_backorder_lets_the_next_one_through() -> None:
    app = inventory()
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 5)))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-2", (SKU, 1)))
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 1))

    deliver(app.release_order, delivery(), order_cancelled("SO-1"))

    assert [m.key for m in published(app, "StockReserved")] == ["SO-2"]


def test_a_positive_count_correction_fills_backorders() -> None:
    app = inventory()
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 1)))

    deliver(app.adjust_stock, delivery(), stock_adjusted(+1, warehouse="LIS-1"))

    assert [m.key for m in published(app, "StockReserved")] == ["SO-1"]


def test_a_request_after_the_cancellation_reserves_nothing() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 2))
    deliver(app.release_order, delivery(), order_cancelled("SO-1"))

    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 2)))

    stock = app.get_stock(SKU)
    assert stock is not None
    assert stock["allocated"] == 0
    assert published(app, "StockReleased") == []
