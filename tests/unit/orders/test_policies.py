from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from services.orders.application import OrdersApplication
from services.orders.policies import subscriptions
from shared.contracts.envelope import Contract, Message
from tests.unit.deliveries import deliver_to
from tests.unit.orders import factories as f


def message(type_: str, data: Contract) -> Message[Contract]:
    return Message[Contract](event_id=uuid4(), type=type_, occurred_at=datetime.now(UTC), data=data)


def test_orders_consumes_the_storefront_the_agents_and_the_saga_replies(app: OrdersApplication) -> None:
    declared = {s.topic.name: (sorted(s.handlers), s.dead_letters_unreadable) for s in subscriptions(app)}

    assert declared == {
        "storefront.orders": (["OrderCancellationRequested", "OrderPlaced", "ReturnRequested"], True),
        "inventory.events.v1": (["ReturnRestocked", "StockBackordered", "StockReserved"], False),
        "shipping.events.v1": (
            [
                "OrderShipmentsCancellationRefused",
                "OrderShipmentsCancelled",
                "ShipmentCancelled",
                "ShipmentDelivered",
                "ShipmentDispatched",
                "ShipmentReturnedToSender",
            ],
            False,
        ),
        # Agents' requests, handled exactly as the storefront's; erasures destroy the customer's key here too.
        "customer_service.events.v1": (
            ["CancellationRequestedByAgent", "PersonalDataErased", "ReturnRequestedByAgent"],
            False,
        ),
    }


def test_each_handler_hands_its_message_to_the_application(app: OrdersApplication) -> None:
    handlers = {name: handler for s in subscriptions(app) for name, handler in s.handlers.items()}
    shipment = f"{f.ORDER_ID}-LIS-1-1"

    deliver_to(app, f.consumed(), lambda: handlers["OrderPlaced"](message("OrderPlaced", f.order_placed())))
    deliver_to(
        app,
        f.consumed(),
        lambda: handlers["StockReserved"](message("StockReserved", f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2)]))),
    )
    deliver_to(
        app,
        f.consumed(),
        lambda: handlers["ShipmentDispatched"](
            message("ShipmentDispatched", f.shipment_dispatched(shipment, {"TSHIRT-RED-M": 2}))
        ),
    )
    deliver_to(
        app,
        f.consumed(),
        lambda: handlers["OrderCancellationRequested"](
            message("OrderCancellationRequested", f.cancellation_requested())
        ),
    )

    order = app.get_order(f.ORDER_ID)
    assert order is not None
    assert order["status"] == "shipped"
    assert order["cancellation_refusals"][0]["requested_by"] == "storefront"
