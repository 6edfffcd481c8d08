"""Each message has its effect once, and racing writers never oversell."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from services.inventory.domain.sku_stock import SkuStock
from services.inventory.domain.stock_item import StockItem
from tests.unit.deliveries import deliver, deliver_to
from tests.unit.inventory.factories import SKU, delivery, inventory, reservation_requested, stock_received
from tests.unit.inventory.published import published


def test_a_message_delivered_twice_has_one_effect() -> None:
    app = inventory()
    received = delivery("11111111-1111-1111-1111-111111111111")
    reserve = delivery("22222222-2222-2222-2222-222222222222")

    for _ in range(2):
        deliver(app.receive_stock, received, stock_received("LIS-1", 10))
        deliver(app.reserve_stock, reserve, reservation_requested("SO-1", (SKU, 3)))

    stock = app.get_stock(SKU)
    assert stock is not None
    assert (stock["on_hand"], stock["allocated"]) == (10, 3)
    assert len(published(app, "StockReserved")) == 1


def test_a_write_on_stale_stock_is_refused_by_the_store_and_nothing_is_oversold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 1))
    contested = StockItem.create_id(SKU, "LIS-1")
    load = app.repository.get
    raced = False

    def load_then_let_a_rival_commit(aggregate_id: UUID, **kwargs: Any) -> Any:
        """Another writer takes the last unit between our read and our commit (in production the log's fence
        stops this earlier, see shared/messaging/consumer.py; the store's version check is the last line)."""
        nonlocal raced
        aggregate = load(aggregate_id, **kwargs)
        if aggregate_id == contested and not raced:
            raced = True
            rival: StockItem = load(aggregate_id)
            rival.allocate("SO-RIVAL", 1)
            app.save(rival)
        return aggregate

    monkeypatch.setattr(app.repository, "get", load_then_let_a_rival_commit)
    ours = delivery()

    with pytest.raises(IntegrityError):
        deliver(app.reserve_stock, ours, reservation_requested("SO-1", (SKU, 1)))

    # Run again on fresh state (what the runtime does after reloading): the unit is gone, so the order waits.
    app.forget()
    deliver(app.reserve_stock, ours, reservation_requested("SO-1", (SKU, 1)))
    stock = app.get_stock(SKU)
    assert stock is not None
    assert (stock["on_hand"], stock["allocated"], stock["available"], stock["backordered"]) == (1, 1, 0, 1)
    assert [m.key for m in published(app, "StockBackordered")] == ["SO-1"]


def test_staging_a_stale_copy_of_a_stock_item_is_refused_by_the_store() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 5))
    first: StockItem = app.repository.get(StockItem.create_id(SKU, "LIS-1"))
    second: StockItem = app.repository.get(StockItem.create_id(SKU, "LIS-1"))
    first.allocate("SO-1", 5)
    second.allocate("SO-2", 5)
    deliver_to(app, delivery(), lambda: app.stage(first))

    with pytest.raises(IntegrityError):
        deliver_to(app, delivery(), lambda: app.stage(second))

    stock = app.get_stock(SKU)
    assert stock is not None
    assert (stock["allocated"], stock["available"]) == (5, 0)


def test_stock_items_reload_from_snapshots_after_many_changes() -> None:
    app = inventory()
    for _ in range(120):
        deliver(app.receive_stock, delivery(), stock_received("LIS-1", 1))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 100)))

    assert app.snapshots is not None
    assert list(app.snapshots.get(StockItem.create_id(SKU, "LIS-1")))
    stock = app.get_stock(SKU)
    assert stock is not None
    assert (stock["on_hand"], stock["allocated"]) == (120, 100)


def test_a_long_backorder_queue_survives_snapshots() -> None:
    app = inventory()
    for n in range(60):
        deliver(app.reserve_stock, delivery(), reservation_requested(f"SO-{n:02}", (SKU, 1)))

    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 30))

    assert app.snapshots is not None
    assert list(app.snapshots.get(SkuStock.create_id(SKU)))
    stock = app.get_stock(SKU)
    assert stock is not None
    assert (stock["allocated"], stock["backordered"]) == (30, 30)
    assert [m.key for m in published(app, "StockReserved")] == [f"SO-{n:02}" for n in range(30)]
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 30))
    assert [m.key for m in published(app, "StockReserved")][30:] == [f"SO-{n:02}" for n in range(30, 60)]
