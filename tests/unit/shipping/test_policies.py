"""Subscriptions: which topics and types the shipping service handles, and that handlers reach the use cases."""

from __future__ import annotations

from services.shipping.application import ShippingApplication
from services.shipping.policies import subscriptions
from shared.contracts.topics import CARRIER_TRACKING, CUSTOMER_SERVICE_EVENTS, ORDERS_EVENTS, WAREHOUSE_EVENTS
from tests.unit.deliveries import deliver_to
from tests.unit.shipping import factories as f


def test_shipping_handles_its_types_and_dead_letters_only_carrier_tracking(app: ShippingApplication) -> None:
    declared = {s.topic: (sorted(s.handlers), s.dead_letters_unreadable) for s in subscriptions(app)}

    assert declared == {
        ORDERS_EVENTS: (["OrderCancellationPending", "OrderCancelled", "ShipmentRequested"], False),
        WAREHOUSE_EVENTS: (["ShipmentDispatched", "ShipmentPacked", "ShipmentPicked"], False),
        CARRIER_TRACKING: (["TrackingUpdated"], True),
        CUSTOMER_SERVICE_EVENTS: (["PersonalDataErased"], False),
    }


def test_handlers_pass_the_senders_time_to_the_use_cases(app: ShippingApplication) -> None:
    handlers = {name: h for s in subscriptions(app) for name, h in s.handlers.items()}

    deliver_to(
        app,
        f.consumed(),
        lambda: handlers["ShipmentRequested"](f.message("ShipmentRequested", f.shipment_requested(), f.at(1, 9))),
    )
    deliver_to(
        app, f.consumed(), lambda: handlers["ShipmentPicked"](f.message("ShipmentPicked", f.scan(), f.at(1, 10)))
    )
    deliver_to(
        app, f.consumed(), lambda: handlers["ShipmentPacked"](f.message("ShipmentPacked", f.scan(), f.at(1, 11)))
    )
    deliver_to(
        app,
        f.consumed(),
        lambda: handlers["ShipmentDispatched"](f.message("ShipmentDispatched", f.dispatched(), f.at(1, 15))),
    )
    deliver_to(
        app,
        f.consumed(),
        lambda: handlers["TrackingUpdated"](f.message("TrackingUpdated", f.tracking("delivered"), f.at(3, 10))),
    )
    deliver_to(
        app,
        f.consumed(),
        lambda: handlers["OrderCancelled"](f.message("OrderCancelled", f.order_cancelled(), f.at(3, 11))),
    )

    shipment = app.get_shipment(f.SHIPMENT_ID)
    assert shipment is not None
    assert [(step["status"], step["at"]) for step in shipment["steps"]] == [
        ("requested", f.at(1, 9)),
        ("picked", f.at(1, 10)),
        ("packed", f.at(1, 11)),
        ("dispatched", f.at(1, 15)),
        ("delivered", f.at(3, 10)),
        ("cancellation_refused", f.at(3, 11)),
    ]
    assert shipment["delivered_at"] == f.at(3, 10)
    assert shipment["late"] is True
