"""Each message has its effect once, and racing writers never oversell."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from services.inventory.domain.sku_stock import SkuStock
from services.inventory.domain.stock_item import StockItem
from shared.messaging.inbox import ConcurrentUpdate
from tests.unit.inventory.factories import SKU, delivery, inventory, reservation_requested, stock_received
from tests.unit.inventory.published import published


def test_a_message_delivered_twice_has_one_effect() -> None:
    app = inventory()
    received = delivery("11111111-1111-1111-1111-111111111111")
    reserve = delivery("22222222-2222-2222-2222-222222222222")

    for _ in range(2):
        app.receive_stock(received, stock_received("LIS-1", 10))
        app.reserve_stock(reserve, reservation_requested("SO-1", (SKU, 3)))

    stock = app.get_stock(SKU)
    assert stock is not None
    assert (stock["on_hand"], stock["allocated"]) == (10, 3)
    assert len(published(app, "StockReserved")) == 1


def test_a_reservation_racing_another_for_the_same_stock_raises_concurrent_update(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = inventory()
    app.receive_stock(delivery(), stock_received("LIS-1", 1))
    contested = StockItem.create_id(SKU, "LIS-1")
    load = app.repository.get
    raced = False

    def load_then_let_a_rival_commit(aggregate_id: UUID, **kwargs: Any) -> Any:
        """Another instance reserves the last unit between our read and our save."""
        nonlocal raced
        aggregate = load(aggregate_id, **kwargs)
        if aggregate_id == contested and not raced:
            raced = True
            app.reserve_stock(delivery(), reservation_requested("SO-RIVAL", (SKU, 1)))
        return aggregate

    monkeypatch.setattr(app.repository, "get", load_then_let_a_rival_commit)
    ours = delivery()

    with pytest.raises(ConcurrentUpdate):
        app.reserve_stock(ours, reservation_requested("SO-1", (SKU, 1)))

    # The runtime runs the use case again, on fresh state: the unit is gone, so the order waits.
    app.reserve_stock(ours, reservation_requested("SO-1", (SKU, 1)))
    stock = app.get_stock(SKU)
    assert stock is not None
    assert (stock["on_hand"], stock["allocated"], stock["available"], stock["backordered"]) == (1, 1, 0, 1)
    assert [m.key for m in published(app, "StockReserved")] == ["SO-RIVAL"]
    assert [m.key for m in published(app, "StockBackordered")] == ["SO-1"]


def test_saving_a_stale_copy_of_a_stock_item_raises_concurrent_update() -> None:
    app = inventory()
    app.receive_stock(delivery(), stock_received("LIS-1", 5))
    first: StockItem = app.repository.get(StockItem.create_id(SKU, "LIS-1"))
    second: StockItem = app.repository.get(StockItem.create_id(SKU, "LIS-1"))
    first.allocate("SO-1", 5)
    second.allocate("SO-2", 5)
    app.save_consumed(delivery(), first)

    with pytest.raises(ConcurrentUpdate):
        app.save_consumed(delivery(), second)

    stock = app.get_stock(SKU)
    assert stock is not None
    assert (stock["allocated"], stock["available"]) == (5, 0)


def test_stock_items_reload_from_snapshots_after_many_changes() -> None:
    app = inventory()
    for _ in range(120):
        app.receive_stock(delivery(), stock_received("LIS-1", 1))
    app.reserve_stock(delivery(), reservation_requested("SO-1", (SKU, 100)))

    assert app.snapshots is not None
    assert list(app.snapshots.get(StockItem.create_id(SKU, "LIS-1")))
    stock = app.get_stock(SKU)
    assert stock is not None
    assert (stock["on_hand"], stock["allocated"]) == (120, 100)


def test_a_long_backorder_queue_survives_snapshots() -> None:
    app = inventory()
    for n in range(60):
        app.reserve_stock(delivery(), reservation_requested(f"SO-{n:02}", (SKU, 1)))

    app.receive_stock(delivery(), stock_received("LIS-1", 30))

    assert app.snapshots is not None
    assert list(app.snapshots.get(SkuStock.create_id(SKU)))
    stock = app.get_stock(SKU)
    assert stock is not None
    assert (stock["allocated"], stock["backordered"]) == (30, 30)
    assert [m.key for m in published(app, "StockReserved")] == [f"SO-{n:02}" for n in range(30)]
    app.receive_stock(delivery(), stock_received("LIS-1", 30))
    assert [m.key for m in published(app, "StockReserved")][30:] == [f"SO-{n:02}" for n in range(30, 60)]
