"""What the orders service consumes: per topic, the types it acts on and the use case each one calls."""

from __future__ import annotations

from services.orders.application import OrdersApplication
from shared.contracts.inventory import INVENTORY_TYPES
from shared.contracts.shipping import SHIPPING_TYPES
from shared.contracts.storefront import STOREFRONT_TYPES
from shared.contracts.topics import INVENTORY_EVENTS, SHIPPING_EVENTS, STOREFRONT_ORDERS
from shared.messaging.subscriptions import Subscription


def subscriptions(app: OrdersApplication) -> list[Subscription]:
    return [
        Subscription(
            STOREFRONT_ORDERS,
            STOREFRONT_TYPES,
            {
                "OrderPlaced": lambda message, consumed: app.place_order(consumed, message.data),
                "OrderCancellationRequested": lambda message, consumed: app.request_cancellation(
                    consumed, message.data
                ),
                "ReturnRequested": lambda message, consumed: app.request_return(consumed, message.data),
            },
            # orders is the only consumer of the storefront topic, so it dead-letters what no one can read.
            dead_letters_unreadable=True,
        ),
        Subscription(
            INVENTORY_EVENTS,
            INVENTORY_TYPES,
            {
                "StockReserved": lambda message, consumed: app.record_stock_reserved(consumed, message.data),
                "StockBackordered": lambda message, consumed: app.record_backorder(consumed, message.data),
                "ReturnRestocked": lambda message, consumed: app.record_return_restocked(consumed, message.data),
            },
        ),
        Subscription(
            SHIPPING_EVENTS,
            SHIPPING_TYPES,
            {
                "ShipmentDispatched": lambda message, consumed: app.record_shipment_dispatched(consumed, message.data),
                "ShipmentDelivered": lambda message, consumed: app.record_shipment_delivered(consumed, message.data),
                "ShipmentReturnedToSender": lambda message, consumed: app.record_shipment_returned_to_sender(
                    consumed, message.data
                ),
                "ShipmentCancelled": lambda message, consumed: app.record_shipment_cancelled(consumed, message.data),
            },
        ),
    ]
