"""Money rules of refunds: together they never exceed the captured payment, and only units that were
delivered and came back are refunded."""

from __future__ import annotations

from decimal import Decimal

from services.orders.application import OrdersApplication
from shared.contracts.storefront import OrderPlacedV1, Payment
from tests.unit.deliveries import deliver
from tests.unit.orders import factories as f
from tests.unit.orders.outbox import published, published_data

SKU = "TSHIRT-RED-M"
SHIPMENT = f"{f.ORDER_ID}-LIS-1-1"


def accepted_before_the_money_rules(paid: str) -> OrderPlacedV1:
    """Two units at 19.90 that paid `paid`: what the storefront topic let through before payments had to match
    their lines. Such orders are in the event logs and are replayed; validation at the edge never sees them."""
    placed = f.order_placed(lines={SKU: (2, "19.90")})
    payment = Payment.model_construct(reference="pi_3Pq", amount=Decimal(paid), status="captured")
    return placed.model_copy(update={"payment": payment})


def delivered(app: OrdersApplication, placed: OrderPlacedV1) -> None:
    deliver(app.place_order, f.consumed(), placed)
    deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([(SKU, "LIS-1", 2)]))
    deliver(app.record_shipment_dispatched, f.consumed(), f.shipment_dispatched(SHIPMENT, {SKU: 2}))
    deliver(app.record_shipment_delivered, f.consumed(), f.shipment_delivered(SHIPMENT, {SKU: 2}))


def return_and_receive(app: OrdersApplication, units: int) -> None:
    deliver(app.request_return, f.consumed(), f.return_requested({SKU: units}))
    deliver(app.record_return_restocked, f.consumed(), f.return_restocked([(SKU, "LIS-1", units, 0)]))


def test_a_refund_beyond_the_captured_payment_is_capped_at_it_with_the_reason(app: OrdersApplication) -> None:
    delivered(app, accepted_before_the_money_rules(paid="0.01"))

    return_and_receive(app, 2)

    (refund,) = published_data(app, "RefundIssued")
    assert refund["amount"] == "0.01"
    assert refund["capped"] == (
        "39.80 EUR due for the returned units, but only 0.01 EUR of the 0.01 EUR captured is left to refund"
    )
    order = app.get_order(f.ORDER_ID)
    assert order is not None
    assert order["totals"] == {"ordered": "39.80", "paid": "0.01", "refunded": "0.01"}
    (authorization,) = order["returns"]
    assert (authorization["refund_amount"], authorization["refund_capped"]) == ("0.01", refund["capped"])


def test_refunds_together_never_exceed_the_captured_payment(app: OrdersApplication) -> None:
    delivered(app, accepted_before_the_money_rules(paid="25.00"))

    return_and_receive(app, 1)  # 19.90 due, 25.00 left: refunded in full
    return_and_receive(app, 1)  # 19.90 due, 5.10 left

    refunds = published_data(app, "RefundIssued")
    assert [(r["amount"], r["capped"] is None) for r in refunds] == [("19.90", True), ("5.10", False)]
    assert "only 5.10 EUR of the 25.00 EUR captured is left" in refunds[1]["capped"]
    order = app.get_order(f.ORDER_ID)
    assert order is not None and order["totals"]["refunded"] == "25.00"


def test_a_refund_within_the_payment_is_not_capped(app: OrdersApplication) -> None:
    delivered(app, f.order_placed(lines={SKU: (2, "19.90")}))

    return_and_receive(app, 1)
    return_and_receive(app, 1)

    refunds = published_data(app, "RefundIssued")
    assert [(r["amount"], r["capped"]) for r in refunds] == [("19.90", None), ("19.90", None)]
    order = app.get_order(f.ORDER_ID)
    assert order is not None and order["totals"] == {"ordered": "39.80", "paid": "39.80", "refunded": "39.80"}


def test_only_units_delivered_and_received_back_are_refunded(app: OrdersApplication) -> None:
    delivered(app, f.order_placed(lines={SKU: (2, "19.90")}))
    deliver(app.request_return, f.consumed(), f.return_requested({SKU: 1}))

    # The warehouse reports two units back under a return that authorized one.
    deliver(app.record_return_restocked, f.consumed(), f.return_restocked([(SKU, "LIS-1", 2, 0)]))
    # A return for more than was delivered is declined: nothing for it can ever be refunded.
    deliver(app.request_return, f.consumed(), f.return_requested({SKU: 2}))

    assert [r["amount"] for r in published_data(app, "RefundIssued")] == ["19.90"]
    assert len(published(app, "ReturnDeclined")) == 1
    order = app.get_order(f.ORDER_ID)
    assert order is not None and order["totals"]["refunded"] == "19.90"


def test_cancelling_refunds_the_captured_payment_once(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed(lines={SKU: (2, "19.90")}))

    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())
    deliver(app.request_cancellation, f.consumed(), f.cancellation_requested())  # asked again, under a new id

    assert [c["refund_amount"] for c in published_data(app, "OrderCancelled")] == ["39.80"]
