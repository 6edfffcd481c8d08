"""Subscriptions: which topics and types inventory consumes, and that each reaches its use case."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from services.inventory.application import InventoryApplication
from services.inventory.policies import subscriptions
from shared.contracts.envelope import Contract, Message
from shared.messaging.subscriptions import Subscription
from tests.unit.deliveries import deliver_to
from tests.unit.inventory.factories import (
    SKU,
    delivery,
    inventory,
    order_cancelled,
    reservation_requested,
    shipment_dispatched,
    stock_received,
)


def handle(app: InventoryApplication, subscription: Subscription, type_: str, payload: Contract) -> None:
    message = Message[Contract](event_id=uuid4(), type=type_, occurred_at=datetime.now(UTC), data=payload)
    deliver_to(app, delivery(str(message.event_id)), lambda: subscription.handlers[type_](message))


def test_inventory_consumes_what_the_flow_assigns_it() -> None:
    declared = {s.topic.name: (sorted(s.handlers), s.dead_letters_unreadable) for s in subscriptions(inventory())}

    assert declared == {
        "warehouse.events": (["ReturnReceived", "StockAdjusted", "StockReceived"], True),
        "orders.events.v1": (["OrderCancelled", "StockReservationRequested"], False),
        "shipping.events.v1": (["ShipmentDispatched"], False),
    }
    for subscription in subscriptions(inventory()):
        assert set(subscription.handlers) <= set(subscription.payload_types)


def test_each_handler_reaches_its_use_case() -> None:
    app = inventory()
    warehouse, orders, shipping = subscriptions(app)

    handle(app, warehouse, "StockReceived", stock_received("LIS-1", 5))
    handle(app, orders, "StockReservationRequested", reservation_requested("SO-1", (SKU, 2)))
    handle(app, orders, "StockReservationRequested", reservation_requested("SO-2", (SKU, 1)))
    handle(app, shipping, "ShipmentDispatched", shipment_dispatched("SO-1", "LIS-1", (SKU, 2)))
    handle(app, orders, "OrderCancelled", order_cancelled("SO-2"))

    stock = app.get_stock(SKU)
    assert stock is not None
    assert (stock["on_hand"], stock["allocated"], stock["available"]) == (3, 0, 3)
