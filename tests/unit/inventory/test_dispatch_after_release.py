"""A dispatch of units the order no longer holds (it was released first): stock follows the goods that left.

Shipping decides cancellations now, so a released order's parcel should never leave; these are the rules for
when one does anyway (an event log from before, a bug)."""

from __future__ import annotations

from services.inventory.application import InventoryApplication
from services.inventory.domain.stock_item import StockItem
from tests.unit.deliveries import deliver
from tests.unit.inventory.factories import (
    SKU,
    delivery,
    inventory,
    order_cancelled,
    reservation_requested,
    shipment_dispatched,
    stock_received,
)
from tests.unit.inventory.published import published


def levels(app: InventoryApplication) -> tuple[int, int, int]:
    stock = app.get_stock(SKU)
    assert stock is not None
    return stock["on_hand"], stock["allocated"], stock["available"]


def test_units_that_left_after_their_release_come_off_on_hand() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 10))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 3)))
    deliver(app.release_order, delivery(), order_cancelled("SO-1"))

    deliver(app.consume_allocation, delivery(), shipment_dispatched("SO-1", "LIS-1", (SKU, 3)))

    assert levels(app) == (7, 0, 7)
    assert published(app, "StockLevelChanged")[-1].data.model_dump()["cause"] == "shipped"


def test_units_already_allocated_to_another_order_stay_counted_and_are_recorded_short() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 3))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 3)))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-2", (SKU, 2)))  # backordered behind SO-1
    deliver(app.release_order, delivery(), order_cancelled("SO-1"))  # SO-2 gets 2 of the 3 units

    deliver(app.consume_allocation, delivery(), shipment_dispatched("SO-1", "LIS-1", (SKU, 3)))

    # 1 unit was free and comes off; 2 are SO-2's: on hand cannot go below what is allocated.
    assert levels(app) == (2, 2, 0)
    events = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(start=1, limit=1000)]
    (shipped,) = [e for e in events if isinstance(e, StockItem.ShippedUnallocated)]
    assert (shipped.order_id, shipped.quantity, shipped.short) == ("SO-1", 1, 2)


def test_a_dispatch_of_allocated_units_consumes_the_allocation_as_before() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 10))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 3)))

    dispatched = delivery()
    deliver(app.consume_allocation, dispatched, shipment_dispatched("SO-1", "LIS-1", (SKU, 3)))
    deliver(app.consume_allocation, dispatched, shipment_dispatched("SO-1", "LIS-1", (SKU, 3)))
    deliver(app.consume_allocation, delivery(), shipment_dispatched("SO-1", "LIS-1", (SKU, 3)))

    assert levels(app) == (7, 0, 7)
