from __future__ import annotations

import pytest

from services.orders.application import OrdersApplication
from shared.contracts.envelope import InvalidMessage
from tests.unit.deliveries import deliver
from tests.unit.orders import factories as f
from tests.unit.orders.outbox import published, published_data


def test_an_order_with_a_captured_payment_is_accepted_and_stock_is_requested(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed(lines={"TSHIRT-RED-M": (2, "19.90"), "MUG-1": (1, "7.50")}))

    order = app.get_order(f.ORDER_ID)
    assert order is not None
    assert order["status"] == "received"
    assert order["totals"]["ordered"] == "47.30"
    assert [(line["sku"], line["ordered"], line["reserved"]) for line in order["lines"]] == [
        ("TSHIRT-RED-M", 2, 0),
        ("MUG-1", 1, 0),
    ]
    assert [m.type for m in published(app)] == ["OrderAccepted", "StockReservationRequested", "OrderStatusChanged"]
    assert published_data(app, "OrderAccepted")[0]["total"] == "47.30"
    assert published_data(app, "StockReservationRequested") == [
        {"order_id": f.ORDER_ID, "lines": [{"sku": "TSHIRT-RED-M", "quantity": 2}, {"sku": "MUG-1", "quantity": 1}]}
    ]
    assert published_data(app, "OrderStatusChanged") == [
        {"order_id": f.ORDER_ID, "status": "received", "previous": None}
    ]


def test_an_authorized_payment_is_accepted_too(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed(payment_status="authorized"))

    assert [m.type for m in published(app)][:2] == ["OrderAccepted", "StockReservationRequested"]


def test_an_order_whose_payment_is_neither_captured_nor_authorized_is_rejected(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed(payment_status="failed"))

    order = app.get_order(f.ORDER_ID)
    assert order is not None
    assert order["status"] == "rejected"
    assert "failed" in order["rejection"]
    assert [m.type for m in published(app)] == ["OrderRejected", "OrderStatusChanged"]
    assert published(app, "StockReservationRequested") == []


def test_a_redelivered_order_placed_has_no_second_effect(app: OrdersApplication) -> None:
    message = f.consumed()
    deliver(app.place_order, message, f.order_placed())
    deliver(app.place_order, message, f.order_placed())

    assert len(published(app, "OrderAccepted")) == 1


def test_the_same_order_id_under_a_new_event_id_creates_no_second_order(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed(lines={"TSHIRT-RED-M": (2, "19.90")}))
    deliver(app.place_order, f.consumed(), f.order_placed(lines={"MUG-1": (5, "7.50")}))

    order = app.get_order(f.ORDER_ID)
    assert order is not None
    assert [line["sku"] for line in order["lines"]] == ["TSHIRT-RED-M"]
    assert len(published(app, "OrderAccepted")) == 1
    assert len(published(app, "StockReservationRequested")) == 1


def test_an_unknown_order_is_not_found(app: OrdersApplication) -> None:
    assert app.get_order("SO-404") is None
    assert app.get_returns("SO-404") is None


def test_a_message_about_an_unknown_order_can_never_be_processed(app: OrdersApplication) -> None:
    with pytest.raises(InvalidMessage, match=r"^data\.order_id: unknown order 'SO-404'"):
        deliver(app.request_cancellation, f.consumed(), f.cancellation_requested(order_id="SO-404"))
    with pytest.raises(InvalidMessage, match=r"^data\.order_id: unknown order 'SO-404'"):
        deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([("MUG-1", "LIS-1", 1)], order_id="SO-404"))
