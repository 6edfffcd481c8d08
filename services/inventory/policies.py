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
                "StockReceived": lambda message, consumed: app.receive_stock(consumed, message.data),
                "StockAdjusted": lambda message, consumed: app.adjust_stock(consumed, message.data),
                "ReturnReceived": lambda message, consumed: app.receive_return(consumed, message.data),
            },
            # Of the warehouse topic's consumers, inventory is the one that dead-letters unreadable messages.
            dead_letters_unreadable=True,
        ),
        Subscription(
            topic=ORDERS_EVENTS,
            payload_types=ORDERS_TYPES,
            handlers={
                "StockReservationRequested": lambda message, consumed: app.reserve_stock(consumed, message.data),
                "OrderCancelled": lambda message, consumed: app.release_order(consumed, message.data),
            },
        ),
        Subscription(
            topic=SHIPPING_EVENTS,
            payload_types=SHIPPING_TYPES,
            handlers={
                "ShipmentDispatched": lambda message, consumed: app.consume_allocation(consumed, message.data),
            },
        ),
    ]
