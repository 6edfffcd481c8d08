from __future__ import annotations

from services.orders.application import OrdersApplication
from tests.unit.deliveries import deliver
from tests.unit.orders import factories as f
from tests.unit.orders.outbox import published, published_data

SHIPMENT = f"{f.ORDER_ID}-LIS-1-1"


def status(app: OrdersApplication) -> str:
    order = app.get_order(f.ORDER_ID)
    assert order is not None
    return str(order["status"])


def test_an_order_is_cancelled_before_its_stock_is_reserved(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed())

    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())

    assert status(app) == "cancelled"
    assert published_data(app, "OrderCancelled") == [
        {
            "order_id": f.ORDER_ID,
            "reason": "customer_changed_mind",
            "requested_by": "storefront",
            "refund_amount": "39.80",
            "currency": "EUR",
        }
    ]


def test_an_order_is_cancelled_after_reservation_while_nothing_is_dispatched(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed())
    deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2)]))

    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())
    deliver(app.record_shipment_cancelled, f.consumed(), f.shipment_cancelled(SHIPMENT))

    order = app.get_order(f.ORDER_ID)
    assert order is not None
    assert order["status"] == "cancelled"
    assert order["shipments"][0]["state"] == "cancelled"
    assert len(published(app, "OrderCancelled")) == 1


def test_a_cancellation_after_the_first_dispatch_is_refused_and_the_order_continues(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed())
    deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2)]))
    deliver(app.record_shipment_dispatched, f.consumed(), f.shipment_dispatched(SHIPMENT, {"TSHIRT-RED-M": 2}))

    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested(), requested_by="agent-17")

    assert status(app) == "shipped"
    assert published(app, "OrderCancelled") == []
    assert published_data(app, "OrderCancellationRefused") == [
        {
            "order_id": f.ORDER_ID,
            "reason": "customer_changed_mind",
            "refusal": "already dispatched; request a return instead",
            "requested_by": "agent-17",
        }
    ]
    deliver(app.record_shipment_delivered, f.consumed(), f.shipment_delivered(SHIPMENT, {"TSHIRT-RED-M": 2}))
    assert status(app) == "delivered"


def test_an_authorized_payment_owes_no_refund_on_cancellation(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed(payment_status="authorized"))

    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())

    assert published_data(app, "OrderCancelled")[0]["refund_amount"] == "0"


def test_stock_reserved_after_the_cancellation_is_ignored(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed())
    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())

    deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2)]))
    deliver(app.record_backorder, f.consumed(), f.stock_backordered({"TSHIRT-RED-M": 2}))

    order = app.get_order(f.ORDER_ID)
    assert order is not None
    assert order["status"] == "cancelled"
    assert order["lines"][0]["reserved"] == 0
    assert published(app, "ShipmentRequested") == []


def test_a_second_cancellation_changes_nothing(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed())
    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())

    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())

    assert len(published(app, "OrderCancelled")) == 1
    assert published(app, "OrderCancellationRefused") == []
