from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from eventsourcing.domain import Aggregate

from services.orders.adapters.outbound import to_outbound
from services.orders.application import OrdersApplication
from shared.contracts.envelope import encode, parse_message
from shared.contracts.orders import ORDERS_TYPES
from shared.contracts.topics import ORDERS_EVENTS
from tests.unit.deliveries import deliver
from tests.unit.orders import factories as f
from tests.unit.orders.outbox import published

SHIPMENT = f"{f.ORDER_ID}-LIS-1-1"


def run_every_kind_of_step(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed())
    deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2)]))
    deliver(app.record_shipment_dispatched, f.consumed(), f.shipment_dispatched(SHIPMENT, {"TSHIRT-RED-M": 2}))
    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())
    deliver(app.record_shipment_delivered, f.consumed(), f.shipment_delivered(SHIPMENT, {"TSHIRT-RED-M": 2}))
    deliver(app.request_return, f.consumed(), f.return_requested({"TSHIRT-RED-M": 5}))
    deliver(app.request_return, f.consumed(), f.return_requested({"TSHIRT-RED-M": 2}))
    deliver(app.record_return_restocked, f.consumed(), f.return_restocked([("TSHIRT-RED-M", "LIS-1", 1, 1)]))
    deliver(app.place_order, f.consumed(), f.order_placed(order_id="SO-2"))
    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested(order_id="SO-2"))
    deliver(app.place_order, f.consumed(), f.order_placed(order_id="SO-3", payment_status="declined"))
    # A cancellation with a shipment open is put to shipping first.
    deliver(app.place_order, f.consumed(), f.order_placed(order_id="SO-4"))
    deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2)], order_id="SO-4"))
    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested(order_id="SO-4"))
    deliver(app.confirm_cancellation, f.consumed(), f.shipments_cancelled("SO-4-C1", [], order_id="SO-4"))


def test_every_orders_contract_is_published_from_the_log(app: OrdersApplication) -> None:
    run_every_kind_of_step(app)

    assert {message.type for message in published(app)} == set(ORDERS_TYPES)


def test_every_published_message_validates_against_its_contract_keyed_by_order_id(app: OrdersApplication) -> None:
    run_every_kind_of_step(app)

    for message in published(app):
        assert message.topic == ORDERS_EVENTS
        raw = encode(uuid4(), message.type, datetime.now(UTC), message.data)
        parsed = parse_message(raw, ORDERS_TYPES)
        assert parsed.data == message.data
        assert message.key == parsed.data.model_dump()["order_id"]


class SomethingElse(Aggregate):
    """An aggregate that is not one of the orders service's."""


def test_events_that_are_not_the_orders_own_are_not_published() -> None:
    marker = SomethingElse()

    assert [to_outbound(event) for event in marker.collect_events()] == [None]
    assert to_outbound(object()) is None
