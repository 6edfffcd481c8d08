"""What the orders service consumes: per topic, the types it acts on and the use case each one calls."""

from __future__ import annotations

from services.orders.application import OrdersApplication
from shared.contracts.customer_service import (
    CUSTOMER_SERVICE_TYPES,
    CancellationRequestedByAgentV1,
    ReturnRequestedByAgentV1,
)
from shared.contracts.envelope import Message
from shared.contracts.inventory import INVENTORY_TYPES
from shared.contracts.shipping import SHIPPING_TYPES
from shared.contracts.storefront import STOREFRONT_TYPES, OrderCancellationRequestedV1, ReturnRequestedV1
from shared.contracts.topics import CUSTOMER_SERVICE_EVENTS, INVENTORY_EVENTS, SHIPPING_EVENTS, STOREFRONT_ORDERS
from shared.messaging.subscriptions import Subscription


def subscriptions(app: OrdersApplication) -> list[Subscription]:
    return [
        Subscription(
            STOREFRONT_ORDERS,
            STOREFRONT_TYPES,
            {
                "OrderPlaced": lambda message: app.place_order(message.data),
                "OrderCancellationRequested": lambda message: app.request_cancellation(message.data),
                "ReturnRequested": lambda message: app.request_return(message.data),
            },
            # orders is the only consumer of the storefront topic, so it dead-letters what no one can read.
            dead_letters_unreadable=True,
            opens_order=frozenset({"OrderPlaced"}),
        ),
        Subscription(
            INVENTORY_EVENTS,
            INVENTORY_TYPES,
            {
                "StockReserved": lambda message: app.record_stock_reserved(message.data),
                "StockBackordered": lambda message: app.record_backorder(message.data),
                "ReturnRestocked": lambda message: app.record_return_restocked(message.data),
            },
        ),
        Subscription(
            SHIPPING_EVENTS,
            SHIPPING_TYPES,
            {
                "ShipmentDispatched": lambda message: app.record_shipment_dispatched(message.data),
                "ShipmentDelivered": lambda message: app.record_shipment_delivered(message.data),
                "ShipmentReturnedToSender": lambda message: app.record_shipment_returned_to_sender(message.data),
                "ShipmentCancelled": lambda message: app.record_shipment_cancelled(message.data),
                # Shipping's answer to a pending cancellation: it alone knows whether a parcel has left.
                "OrderShipmentsCancelled": lambda message: app.confirm_cancellation(message.data),
                "OrderShipmentsCancellationRefused": lambda message: app.refuse_cancellation(message.data),
            },
        ),
        # Agents' requests, relayed by customer_service: the same rules and refusals as the storefront's, with
        # the agent named as the requester on the outcome.
        Subscription(
            CUSTOMER_SERVICE_EVENTS,
            CUSTOMER_SERVICE_TYPES,
            {
                "CancellationRequestedByAgent": lambda message: _agent_cancellation(app, message),
                "ReturnRequestedByAgent": lambda message: _agent_return(app, message),
                "PersonalDataErased": lambda message: app.erase_personal_data(
                    message.data.customer_id, message.data.erasure_id
                ),
            },
        ),
    ]


def _agent_cancellation(app: OrdersApplication, message: Message[CancellationRequestedByAgentV1]) -> None:
    request = message.data
    app.request_cancellation(
        OrderCancellationRequestedV1(order_id=request.order_id, reason=request.reason),
        requested_by=f"agent:{request.agent_id}",
    )


def _agent_return(app: OrdersApplication, message: Message[ReturnRequestedByAgentV1]) -> None:
    request = message.data
    app.request_return(
        ReturnRequestedV1(order_id=request.order_id, lines=request.lines, reason=request.reason),
        requested_by=f"agent:{request.agent_id}",
    )
