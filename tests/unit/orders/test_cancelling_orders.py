"""Cancellation: orders decides alone only on facts that cannot change (no open shipment, a dispatch it has
seen); otherwise the cancellation is pending until shipping, which alone sees dispatches in time, answers."""

from __future__ import annotations

from services.orders.application import OrdersApplication
from tests.unit.deliveries import deliver
from tests.unit.orders import factories as f
from tests.unit.orders.outbox import published, published_data

SHIPMENT = f"{f.ORDER_ID}-LIS-1-1"
FIRST = f"{f.ORDER_ID}-C1"


def status(app: OrdersApplication) -> str:
    order = app.get_order(f.ORDER_ID)
    assert order is not None
    return str(order["status"])


def reserved(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed())
    deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2)]))


def test_an_order_without_a_shipment_is_cancelled_at_once(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed())

    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())

    assert status(app) == "cancelled"
    assert published(app, "OrderCancellationPending") == []
    assert published_data(app, "OrderCancelled") == [
        {
            "order_id": f.ORDER_ID,
            "reason": "customer_changed_mind",
            "requested_by": "storefront",
            "refund_amount": "39.80",
            "currency": "EUR",
            "cancellation_id": None,
        }
    ]


def test_with_a_shipment_open_the_cancellation_is_pending_and_put_to_shipping(app: OrdersApplication) -> None:
    reserved(app)

    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())

    assert status(app) == "reserved"
    assert published(app, "OrderCancelled") == []
    assert published_data(app, "OrderCancellationPending") == [
        {
            "order_id": f.ORDER_ID,
            "cancellation_id": FIRST,
            "reason": "customer_changed_mind",
            "requested_by": "storefront",
        }
    ]
    order = app.get_order(f.ORDER_ID)
    assert order is not None and order["cancellation"] is None
    assert order["cancellation_pending"] == {
        "cancellation_id": FIRST,
        "reason": "customer_changed_mind",
        "requested_by": "storefront",
    }


def test_a_pending_cancellation_confirmed_by_shipping_cancels_and_refunds(app: OrdersApplication) -> None:
    reserved(app)
    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested(), requested_by="agent:17")

    deliver(app.record_shipment_cancelled, f.consumed(), f.shipment_cancelled(SHIPMENT))
    deliver(app.confirm_cancellation, f.consumed(), f.shipments_cancelled(FIRST, [SHIPMENT]))

    order = app.get_order(f.ORDER_ID)
    assert order is not None
    assert order["status"] == "cancelled" and order["cancellation_pending"] is None
    assert order["shipments"][0]["state"] == "cancelled"
    assert published_data(app, "OrderCancelled") == [
        {
            "order_id": f.ORDER_ID,
            "reason": "customer_changed_mind",
            "requested_by": "agent:17",
            "refund_amount": "39.80",
            "currency": "EUR",
            "cancellation_id": FIRST,
        }
    ]


def test_a_pending_cancellation_refused_by_shipping_lets_the_order_continue(app: OrdersApplication) -> None:
    reserved(app)
    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())

    deliver(app.refuse_cancellation, f.consumed(), f.shipments_cancellation_refused(FIRST, [SHIPMENT]))
    deliver(app.record_shipment_dispatched, f.consumed(), f.shipment_dispatched(SHIPMENT, {"TSHIRT-RED-M": 2}))

    assert status(app) == "shipped"
    assert published(app, "OrderCancelled") == []
    assert published_data(app, "OrderCancellationRefused") == [
        {
            "order_id": f.ORDER_ID,
            "reason": "customer_changed_mind",
            "refusal": "already dispatched; request a return instead",
            "requested_by": "storefront",
            "cancellation_id": FIRST,
        }
    ]
    order = app.get_order(f.ORDER_ID)
    assert order is not None and order["cancellation_pending"] is None and order["cancellation"] is None
    deliver(app.record_shipment_delivered, f.consumed(), f.shipment_delivered(SHIPMENT, {"TSHIRT-RED-M": 2}))
    assert status(app) == "delivered"


def test_the_dispatch_may_reach_orders_before_the_refusal(app: OrdersApplication) -> None:
    reserved(app)
    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())

    deliver(app.record_shipment_dispatched, f.consumed(), f.shipment_dispatched(SHIPMENT, {"TSHIRT-RED-M": 2}))
    deliver(app.refuse_cancellation, f.consumed(), f.shipments_cancellation_refused(FIRST, [SHIPMENT]))

    assert status(app) == "shipped"
    assert len(published(app, "OrderCancellationRefused")) == 1


def test_a_cancellation_after_a_dispatch_orders_has_seen_is_refused_at_once(app: OrdersApplication) -> None:
    reserved(app)
    deliver(app.record_shipment_dispatched, f.consumed(), f.shipment_dispatched(SHIPMENT, {"TSHIRT-RED-M": 2}))

    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested(), requested_by="agent-17")

    assert status(app) == "shipped"
    assert published(app, "OrderCancellationPending") == []
    assert published_data(app, "OrderCancellationRefused") == [
        {
            "order_id": f.ORDER_ID,
            "reason": "customer_changed_mind",
            "refusal": "already dispatched; request a return instead",
            "requested_by": "agent-17",
            "cancellation_id": None,
        }
    ]


def test_a_second_request_while_one_is_pending_adds_nothing(app: OrdersApplication) -> None:
    reserved(app)
    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())

    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested(reason="again"))

    assert len(published(app, "OrderCancellationPending")) == 1


def test_a_repeated_or_stale_answer_of_shipping_changes_nothing(app: OrdersApplication) -> None:
    reserved(app)
    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())
    deliver(app.refuse_cancellation, f.consumed(), f.shipments_cancellation_refused(FIRST, [SHIPMENT]))

    # The same refusal again under another event id, then a confirmation of a request no longer pending.
    deliver(app.refuse_cancellation, f.consumed(), f.shipments_cancellation_refused(FIRST, [SHIPMENT]))
    deliver(app.confirm_cancellation, f.consumed(), f.shipments_cancelled(FIRST, []))

    assert status(app) == "reserved"
    assert len(published(app, "OrderCancellationRefused")) == 1
    assert published(app, "OrderCancelled") == []


def test_a_new_request_after_a_refusal_is_put_to_shipping_under_a_new_id(app: OrdersApplication) -> None:
    reserved(app)
    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())
    deliver(app.refuse_cancellation, f.consumed(), f.shipments_cancellation_refused(FIRST, [SHIPMENT]))

    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())
    deliver(app.confirm_cancellation, f.consumed(), f.shipments_cancelled(FIRST, []))  # the old id: stale
    assert status(app) == "reserved"
    deliver(app.confirm_cancellation, f.consumed(), f.shipments_cancelled(f"{f.ORDER_ID}-C2", []))

    assert [m.data.model_dump()["cancellation_id"] for m in published(app, "OrderCancellationPending")] == [
        FIRST,
        f"{f.ORDER_ID}-C2",
    ]
    assert status(app) == "cancelled"
    assert len(published(app, "OrderCancelled")) == 1


def test_a_confirmation_delivered_twice_cancels_and_refunds_once(app: OrdersApplication) -> None:
    reserved(app)
    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())

    deliver(app.confirm_cancellation, f.consumed(), f.shipments_cancelled(FIRST, [SHIPMENT]))
    deliver(app.confirm_cancellation, f.consumed(), f.shipments_cancelled(FIRST, [SHIPMENT]))
    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())

    assert len(published(app, "OrderCancelled")) == 1
    assert published(app, "OrderCancellationRefused") == []


def test_shipments_requested_while_pending_are_still_requested(app: OrdersApplication) -> None:
    """Shipping, having confirmed, cancels them on arrival; having refused, ships them: the order lives on."""
    deliver(app.place_order, f.consumed(), f.order_placed(lines={"TSHIRT-RED-M": (2, "9.95"), "MUG": (2, "9.95")}))
    deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2)]))
    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())

    deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([("MUG", "MAD-1", 2)]))

    assert len(published(app, "ShipmentRequested")) == 2


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
