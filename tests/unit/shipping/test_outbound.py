"""Every event the shipping log holds maps to a valid `shipping.events.v1` message keyed by order id."""

from __future__ import annotations

from collections import Counter
from typing import Any

from services.shipping.adapters.outbound import to_outbound
from services.shipping.application import ShippingApplication
from shared.contracts.shipping import SHIPPING_TYPES
from shared.contracts.topics import SHIPPING_EVENTS
from shared.messaging.outbound import Outbound
from shared.messaging.relay import outbound_messages
from tests.unit.deliveries import deliver
from tests.unit.shipping import factories as f


def published(app: ShippingApplication) -> tuple[list[Outbound], list[Any]]:
    """What the relay would publish from the stored log (events read back through the transcoder)."""
    messages, unpublished = [], []
    for notification in app.recorder.select_notifications(start=1, limit=1000):
        event = app.mapper.to_domain_event(notification)
        outbound = [m for m in outbound_messages(to_outbound(event)) if isinstance(m, Outbound)]
        if not outbound:
            unpublished.append(event)
        messages += outbound
    return messages, unpublished


def test_every_shipment_event_is_published_as_a_valid_contract(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-100045-LIS-1-1"))
    deliver(app.record_picked, f.consumed(), f.scan("SO-100045-LIS-1-1"))
    deliver(app.record_packed, f.consumed(), f.scan("SO-100045-LIS-1-1"))
    deliver(app.record_dispatched, f.consumed(), f.dispatched("SO-100045-LIS-1-1", tracking_number="T-1"))
    deliver(app.record_tracking, f.consumed(), f.tracking("out_for_delivery", "T-1"), f.at(2, 8))
    deliver(app.record_tracking, f.consumed(), f.tracking("in_transit", "T-1"), f.at(1, 20))
    deliver(app.record_tracking, f.consumed(), f.tracking("delivered", "T-1"), f.at(3, 10))
    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-100045-MAD-1-2", warehouse="MAD-1"))
    deliver(app.record_dispatched, f.consumed(), f.dispatched("SO-100045-MAD-1-2", tracking_number="T-2"))
    deliver(app.record_tracking, f.consumed(), f.tracking("returned_to_sender", "T-2"), f.at(5))
    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-100045-LIS-1-3"))
    deliver(app.cancel_order_shipments, f.consumed(), f.order_cancelled())

    messages, _ = published(app)

    assert Counter(message.type for message in messages) == {
        "ShipmentCreated": 3,
        "ShipmentPicked": 1,
        "ShipmentPacked": 1,
        "ShipmentDispatched": 2,
        "ShipmentTrackingUpdated": 4,
        "ShipmentDelivered": 1,
        "ShipmentReturnedToSender": 1,
        "ShipmentCancelled": 1,
        "ShipmentCancellationRefused": 2,
    }
    for message in messages:
        assert message.topic == SHIPPING_EVENTS
        assert message.key == f.ORDER_ID
        contract = SHIPPING_TYPES[message.type]
        assert isinstance(message.data, contract)
        assert contract.model_validate(message.data.model_dump(mode="json")) == message.data

    delivered = next(m.data.model_dump() for m in messages if m.type == "ShipmentDelivered")
    assert delivered["late"] is True
    assert delivered["lines"] == [{"sku": "TSHIRT-RED-M", "quantity": 2}]
    assert [m.data.model_dump()["applied"] for m in messages if m.type == "ShipmentTrackingUpdated"] == [
        True,
        False,  # the older in_transit: history only
        True,
        True,
    ]


def test_index_and_inbox_events_are_not_published(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested())
    deliver(app.record_dispatched, f.consumed(), f.dispatched())

    _, unpublished = published(app)

    assert {type(event).__qualname__ for event in unpublished} == {
        "OrderShipments.Created",
        "OrderShipments.ShipmentAdded",
        "TrackingNumberIndex.Created",
    }


def test_the_answers_to_a_pending_cancellation_are_published_for_the_order(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-100045-LIS-1-1"))
    deliver(app.record_dispatched, f.consumed(), f.dispatched("SO-100045-LIS-1-1", tracking_number="T-1"))
    deliver(app.decide_cancellation, f.consumed(), f.cancellation_pending(cancellation_id="SO-100045-C1"))
    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-OTHER-LIS-1-1", order_id="SO-OTHER"))
    deliver(app.decide_cancellation, f.consumed(), f.cancellation_pending("SO-OTHER"))

    messages, _ = published(app)

    answers = [(m.type, m.key, m.data.model_dump()) for m in messages if m.type.startswith("OrderShipments")]
    assert answers == [
        (
            "OrderShipmentsCancellationRefused",
            f.ORDER_ID,
            {
                "order_id": f.ORDER_ID,
                "cancellation_id": "SO-100045-C1",
                "refusal": "already dispatched",
                "dispatched": ["SO-100045-LIS-1-1"],
            },
        ),
        (
            "OrderShipmentsCancelled",
            "SO-OTHER",
            {"order_id": "SO-OTHER", "cancellation_id": "SO-OTHER-C1", "shipment_ids": ["SO-OTHER-LIS-1-1"]},
        ),
    ]
    # Published with the shipments' own events, in one commit (orders reads them in either order).
    assert sorted(m.type for m in messages if m.key == "SO-OTHER")[-3:] == [
        "OrderShipmentsCancelled",
        "ShipmentCancelled",
        "ShipmentCreated",
    ]
