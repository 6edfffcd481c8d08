"""What the shipping service consumes: per topic, the message types it acts on and the use case for each.

Handlers pass the envelope's `occurred_at`: the warehouse's scan time for steps, and for carrier updates
the carrier's time, which orders updates that arrive out of order.
"""

from __future__ import annotations

from services.shipping.application import ShippingApplication
from shared.contracts.carrier import CARRIER_TYPES
from shared.contracts.customer_service import CUSTOMER_SERVICE_TYPES
from shared.contracts.orders import ORDERS_TYPES
from shared.contracts.topics import CARRIER_TRACKING, CUSTOMER_SERVICE_EVENTS, ORDERS_EVENTS, WAREHOUSE_EVENTS
from shared.contracts.warehouse import WAREHOUSE_TYPES
from shared.messaging.subscriptions import Subscription


def subscriptions(app: ShippingApplication) -> list[Subscription]:
    return [
        Subscription(
            topic=ORDERS_EVENTS,
            payload_types=ORDERS_TYPES,
            handlers={
                "ShipmentRequested": lambda message: app.create_shipment(message.data, message.occurred_at),
                "OrderCancellationPending": lambda message: app.decide_cancellation(message.data, message.occurred_at),
                "OrderCancelled": lambda message: app.cancel_order_shipments(message.data, message.occurred_at),
            },
        ),
        # Inventory dead-letters what no one can read on this topic; we dead-letter only our own types.
        Subscription(
            topic=WAREHOUSE_EVENTS,
            payload_types=WAREHOUSE_TYPES,
            handlers={
                "ShipmentPicked": lambda message: app.record_picked(message.data, message.occurred_at),
                "ShipmentPacked": lambda message: app.record_packed(message.data, message.occurred_at),
                "ShipmentDispatched": lambda message: app.record_dispatched(message.data, message.occurred_at),
            },
        ),
        Subscription(
            topic=CARRIER_TRACKING,
            payload_types=CARRIER_TYPES,
            handlers={
                "TrackingUpdated": lambda message: app.record_tracking(message.data, message.occurred_at),
            },
            dead_letters_unreadable=True,
        ),
        # Shipments hold addresses: an erased customer's key is destroyed here too.
        Subscription(
            topic=CUSTOMER_SERVICE_EVENTS,
            payload_types=CUSTOMER_SERVICE_TYPES,
            handlers={
                "PersonalDataErased": lambda message: app.erase_personal_data(
                    message.data.customer_id, message.data.erasure_id
                ),
            },
        ),
    ]
