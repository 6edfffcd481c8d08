"""Reserving stock for orders: from one warehouse when possible, split when needed, never oversold."""

from __future__ import annotations

from tests.unit.deliveries import deliver
from tests.unit.inventory.factories import (
    OTHER_SKU,
    SKU,
    delivery,
    inventory,
    reservation_requested,
    stock_received,
)
from tests.unit.inventory.published import published


def test_received_stock_is_reserved_from_the_warehouse_holding_it() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 10))

    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 3)))

    stock = app.get_stock(SKU)
    assert stock is not None
    assert stock["warehouses"] == [{"warehouse": "LIS-1", "on_hand": 10, "allocated": 3, "available": 7}]
    assert (stock["on_hand"], stock["allocated"], stock["available"], stock["backordered"]) == (10, 3, 7, 0)
    [reserved] = published(app, "StockReserved")
    assert reserved.key == "SO-1"
    assert reserved.data.model_dump() == {
        "order_id": "SO-1",
        "allocations": [{"sku": SKU, "warehouse": "LIS-1", "quantity": 3}],
    }


def test_prefers_the_warehouse_that_has_every_line() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 50, sku=SKU))
    deliver(app.receive_stock, delivery(), stock_received("MAD-1", 2, sku=SKU))
    deliver(app.receive_stock, delivery(), stock_received("MAD-1", 1, sku=OTHER_SKU))

    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 2), (OTHER_SKU, 1)))

    reservation = app.get_reservation("SO-1")
    assert reservation is not None
    assert reservation["allocations"] == [
        {"sku": SKU, "warehouse": "MAD-1", "quantity": 2},
        {"sku": OTHER_SKU, "warehouse": "MAD-1", "quantity": 1},
    ]
    assert reservation["backordered"] == []


def test_a_line_is_split_over_two_warehouses_when_neither_holds_it_whole() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 3))
    deliver(app.receive_stock, delivery(), stock_received("MAD-1", 4))

    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 6)))

    [reserved] = published(app, "StockReserved")
    assert reserved.data.model_dump()["allocations"] == [
        {"sku": SKU, "warehouse": "MAD-1", "quantity": 4},
        {"sku": SKU, "warehouse": "LIS-1", "quantity": 2},
    ]
    stock = app.get_stock(SKU)
    assert stock is not None
    assert stock["available"] == 1


def test_a_short_line_is_backordered_whole_while_the_others_are_reserved() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 2, sku=SKU))
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 5, sku=OTHER_SKU))

    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 3), (OTHER_SKU, 1)))

    [reserved] = published(app, "StockReserved")
    [backordered] = published(app, "StockBackordered")
    assert reserved.data.model_dump()["allocations"] == [{"sku": OTHER_SKU, "warehouse": "LIS-1", "quantity": 1}]
    assert backordered.data.model_dump() == {"order_id": "SO-1", "lines": [{"sku": SKU, "quantity": 3}]}
    stock = app.get_stock(SKU)
    assert stock is not None
    assert (stock["allocated"], stock["available"], stock["backordered"]) == (0, 2, 3)


def test_twenty_orders_of_one_against_five_on_hand_reserve_exactly_five() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 5))

    for n in range(20):
        deliver(app.reserve_stock, delivery(), reservation_requested(f"SO-{n}", (SKU, 1)))
        stock = app.get_stock(SKU)
        assert stock is not None
        assert stock["available"] >= 0

    stock = app.get_stock(SKU)
    assert stock is not None
    assert (stock["on_hand"], stock["allocated"], stock["available"], stock["backordered"]) == (5, 5, 0, 15)
    assert [m.key for m in published(app, "StockReserved")] == [f"SO-{n}" for n in range(5)]
    assert [m.key for m in published(app, "StockBackordered")] == [f"SO-{n}" for n in range(5, 20)]


def test_an_order_never_stocked_anywhere_is_backordered() -> None:
    app = inventory()

    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 1)))

    assert app.get_stock(SKU) == {
        "sku": SKU,
        "warehouses": [],
        "on_hand": 0,
        "allocated": 0,
        "available": 0,
        "backordered": 1,
    }
    assert [m.key for m in published(app, "StockBackordered")] == ["SO-1"]


def test_a_second_request_for_the_same_order_reserves_nothing_more() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 10))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 2)))

    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 2)))

    stock = app.get_stock(SKU)
    assert stock is not None
    assert stock["allocated"] == 2
