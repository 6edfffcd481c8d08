"""What inventory reacts to: the warehouse's stock events, the orders saga's requests, and dispatches."""

from __future__ import annotations

from services.inventory.application import InventoryApplication
from shared.contracts.orders import ORDERS_TYPES
from shared.contracts.shipping import SHIPPING_TYPES
from shared.contracts.topics import ORDERS_EVENTS, SHIPPING_EVENTS, WAREHOUSE_EVENTS
from shared.contracts.warehouse import WAREHOUSE_TYPES
from shared.messaging.subscriptions import Subscription


def subscriptions(app: InventoryApplication) -> list[Subscription]:
    return [
        Subscription(
            topic=WAREHOUSE_EVENTS,
            payload_types=WAREHOUSE_TYPES,
            handlers={
                "StockReceived": lambda message: app.receive_stock(message.data),
                "StockAdjusted": lambda message: app.adjust_stock(message.data),
                "ReturnReceived": lambda message: app.receive_return(message.data),
            },
            # Of the warehouse topic's consumers, inventory is the one that dead-letters unreadable messages.
            dead_letters_unreadable=True,
        ),
        Subscription(
            topic=ORDERS_EVENTS,
            payload_types=ORDERS_TYPES,
            handlers={
                "StockReservationRequested": lambda message: app.reserve_stock(message.data),
                "OrderCancelled": lambda message: app.release_order(message.data),
            },
        ),
        Subscription(
            topic=SHIPPING_EVENTS,
            payload_types=SHIPPING_TYPES,
            handlers={
                "ShipmentDispatched": lambda message: app.consume_allocation(message.data),
            },
        ),
    ]
