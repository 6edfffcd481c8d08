"""Returned goods go back into stock only for a known order, and only units that shipped for it and have not
come back already; anything else is refused whole (to the DLQ) and no stock moves. A return of units still
allocated to the order may be read before their dispatch: it waits for it."""

from __future__ import annotations

import pytest

from services.inventory.application import InventoryApplication
from shared.contracts.envelope import InvalidMessage
from tests.unit.deliveries import deliver
from tests.unit.inventory.factories import (
    OTHER_SKU,
    SKU,
    delivery,
    inventory,
    order_cancelled,
    reservation_requested,
    return_received,
    shipment_dispatched,
    stock_received,
)
from tests.unit.inventory.published import published


def on_hand(app: InventoryApplication, warehouse: str, sku: str = SKU) -> int:
    stock = app.get_stock(sku)
    assert stock is not None
    return next(int(w["on_hand"]) for w in stock["warehouses"] if w["warehouse"] == warehouse)


def shipped_one(app: InventoryApplication, order_id: str = "SO-1") -> None:
    """10 on hand at LIS-1, one unit of which shipped for `order_id` (9 left)."""
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 10))
    deliver(app.reserve_stock, delivery(), reservation_requested(order_id, (SKU, 1)))
    deliver(app.consume_allocation, delivery(), shipment_dispatched(order_id, "LIS-1", (SKU, 1)))


def test_a_return_for_an_unknown_order_is_refused_and_opens_no_reservation() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 1))

    with pytest.raises(InvalidMessage, match=r"^data\.order_id: unknown order 'SO-UNKNOWN'"):
        deliver(app.receive_return, delivery(), return_received("SO-UNKNOWN", (SKU, 1, "resellable")))

    assert on_hand(app, "LIS-1") == 1
    assert app.get_reservation("SO-UNKNOWN") is None
    assert published(app, "ReturnRestocked") == []


def test_a_return_for_an_order_only_ever_cancelled_is_refused() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 5))
    deliver(app.release_order, delivery(), order_cancelled("SO-1"))  # cancelled before its request was seen

    with pytest.raises(InvalidMessage, match=r"^data\.order_id: unknown order 'SO-1'"):
        deliver(app.receive_return, delivery(), return_received("SO-1", (SKU, 1, "resellable")))

    assert on_hand(app, "LIS-1") == 5


def test_a_return_read_before_its_dispatch_waits_and_comes_back_with_it() -> None:
    """The return's topic and the dispatch's topic are not ordered with each other (a restart reads both)."""
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 10))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 2)))

    deliver(app.receive_return, delivery(), return_received("SO-1", (SKU, 1, "resellable"), (SKU, 1, "damaged")))

    assert on_hand(app, "LIS-1") == 10  # the two units are still here, allocated
    assert published(app, "ReturnRestocked") == []

    deliver(app.consume_allocation, delivery(), shipment_dispatched("SO-1", "LIS-1", (SKU, 2)))

    assert on_hand(app, "LIS-1") == 9  # two left, one came back resellable
    [restocked] = published(app, "ReturnRestocked")
    assert restocked.data.model_dump()["lines"] == [{"sku": SKU, "warehouse": "LIS-1", "resellable": 1, "damaged": 1}]
    with pytest.raises(InvalidMessage, match=r"2 shipped, 2 already returned"):
        deliver(app.receive_return, delivery(), return_received("SO-1", (SKU, 1, "resellable")))


def test_a_return_beyond_what_is_shipped_or_still_allocated_is_refused_at_once() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 10))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 1)))

    with pytest.raises(InvalidMessage, match=r"^data\.lines\.0\.quantity: .*0 shipped, 0 already returned"):
        deliver(app.receive_return, delivery(), return_received("SO-1", (SKU, 5, "resellable")))

    deliver(app.consume_allocation, delivery(), shipment_dispatched("SO-1", "LIS-1", (SKU, 1)))
    assert on_hand(app, "LIS-1") == 9 and published(app, "ReturnRestocked") == []


def test_a_return_waiting_for_an_order_that_is_cancelled_instead_never_restocks() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 10))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 2)))
    deliver(app.receive_return, delivery(), return_received("SO-1", (SKU, 2, "resellable")))

    deliver(app.release_order, delivery(), order_cancelled("SO-1"))

    stock = app.get_stock(SKU)
    assert stock is not None and (stock["on_hand"], stock["allocated"]) == (10, 0)
    assert published(app, "ReturnRestocked") == []


def test_more_units_than_shipped_are_refused_and_no_stock_moves() -> None:
    app = inventory()
    shipped_one(app)

    with pytest.raises(InvalidMessage, match=r"^data\.lines\.0\.quantity: .*1 shipped, 0 already returned"):
        deliver(app.receive_return, delivery(), return_received("SO-1", (SKU, 50, "resellable")))

    assert on_hand(app, "LIS-1") == 9
    assert published(app, "ReturnRestocked") == []


def test_units_that_came_back_once_cannot_come_back_again() -> None:
    app = inventory()
    shipped_one(app)
    deliver(app.receive_return, delivery(), return_received("SO-1", (SKU, 1, "resellable")))

    with pytest.raises(InvalidMessage, match=r"^data\.lines\.0\.quantity: .*1 shipped, 1 already returned"):
        deliver(app.receive_return, delivery(), return_received("SO-1", (SKU, 1, "resellable")))

    assert on_hand(app, "LIS-1") == 10
    assert len(published(app, "ReturnRestocked")) == 1


def test_damaged_units_count_against_what_shipped_too() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 10))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 2)))
    deliver(app.consume_allocation, delivery(), shipment_dispatched("SO-1", "LIS-1", (SKU, 2)))

    with pytest.raises(InvalidMessage, match=r"^data\.lines\.1\.quantity"):
        deliver(app.receive_return, delivery(), return_received("SO-1", (SKU, 1, "resellable"), (SKU, 2, "damaged")))

    assert on_hand(app, "LIS-1") == 8


def test_a_sku_the_order_never_shipped_is_refused_with_the_line_named() -> None:
    app = inventory()
    shipped_one(app)
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 3, sku=OTHER_SKU))

    with pytest.raises(InvalidMessage, match=rf"^data\.lines\.1\.sku: sku '{OTHER_SKU}' is not part of order 'SO-1'"):
        deliver(
            app.receive_return, delivery(), return_received("SO-1", (SKU, 1, "resellable"), (OTHER_SKU, 1, "damaged"))
        )

    assert (on_hand(app, "LIS-1"), on_hand(app, "LIS-1", OTHER_SKU)) == (9, 3)


def test_returned_units_go_back_to_the_warehouses_that_shipped_them() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 3))
    deliver(app.receive_stock, delivery(), stock_received("MAD-1", 2))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 5)))  # split: 3 + 2
    deliver(app.consume_allocation, delivery(), shipment_dispatched("SO-1", "LIS-1", (SKU, 3)))
    deliver(app.consume_allocation, delivery(), shipment_dispatched("SO-1", "MAD-1", (SKU, 2)))

    deliver(app.receive_return, delivery(), return_received("SO-1", (SKU, 3, "resellable"), (SKU, 1, "damaged")))
    deliver(app.receive_return, delivery(), return_received("SO-1", (SKU, 1, "resellable")))

    assert (on_hand(app, "LIS-1"), on_hand(app, "MAD-1")) == (3, 1)
    assert [m.data.model_dump()["lines"] for m in published(app, "ReturnRestocked")] == [
        [
            {"sku": SKU, "warehouse": "LIS-1", "resellable": 3, "damaged": 0},
            {"sku": SKU, "warehouse": "MAD-1", "resellable": 0, "damaged": 1},
        ],
        [{"sku": SKU, "warehouse": "MAD-1", "resellable": 1, "damaged": 0}],
    ]
    with pytest.raises(InvalidMessage, match=r"5 shipped, 5 already returned"):
        deliver(app.receive_return, delivery(), return_received("SO-1", (SKU, 1, "damaged")))


def test_a_redelivered_return_is_restocked_once() -> None:
    app = inventory()
    shipped_one(app)
    message = delivery()

    deliver(app.receive_return, message, return_received("SO-1", (SKU, 1, "resellable")))
    processed = deliver(app.receive_return, message, return_received("SO-1", (SKU, 1, "resellable")))

    assert processed.duplicates == 1
    assert on_hand(app, "LIS-1") == 10
