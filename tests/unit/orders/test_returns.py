from __future__ import annotations

from services.orders.application import OrdersApplication
from tests.unit.deliveries import deliver
from tests.unit.orders import factories as f
from tests.unit.orders.outbox import published, published_data

SHIPMENT = f"{f.ORDER_ID}-LIS-1-1"


def delivered_order(app: OrdersApplication, lines: dict[str, tuple[int, str]] | None = None) -> None:
    """An order whose every line was reserved at LIS-1, shipped in one parcel and delivered."""
    placed = f.order_placed(lines=lines)
    quantities = {line.sku: line.quantity for line in placed.lines}
    deliver(app.place_order, f.consumed(), placed)
    deliver(
        app.record_stock_reserved, f.consumed(), f.stock_reserved([(sku, "LIS-1", q) for sku, q in quantities.items()])
    )
    deliver(app.record_shipment_dispatched, f.consumed(), f.shipment_dispatched(SHIPMENT, quantities))
    deliver(app.record_shipment_delivered, f.consumed(), f.shipment_delivered(SHIPMENT, quantities))


def test_a_return_of_delivered_units_is_approved(app: OrdersApplication) -> None:
    delivered_order(app)

    deliver(app.request_return, f.consumed(), f.return_requested({"TSHIRT-RED-M": 2}))

    order = app.get_order(f.ORDER_ID)
    assert order is not None
    assert order["status"] == "return_requested"
    assert [(r["return_id"], r["status"]) for r in order["returns"]] == [(f"{f.ORDER_ID}-R1", "approved")]
    assert published_data(app, "ReturnApproved") == [
        {
            "order_id": f.ORDER_ID,
            "return_id": f"{f.ORDER_ID}-R1",
            "lines": [{"sku": "TSHIRT-RED-M", "quantity": 2}],
            "reason": "wrong_size",
            "requested_by": "storefront",
        }
    ]


def test_a_received_return_is_refunded_for_resellable_and_damaged_units_alike(app: OrdersApplication) -> None:
    delivered_order(app)
    deliver(app.request_return, f.consumed(), f.return_requested({"TSHIRT-RED-M": 2}))

    deliver(app.record_return_restocked, f.consumed(), f.return_restocked([("TSHIRT-RED-M", "LIS-1", 1, 1)]))

    order = app.get_order(f.ORDER_ID)
    assert order is not None
    assert order["status"] == "refunded"
    assert (order["lines"][0]["returned"], order["lines"][0]["refunded"]) == (2, 2)
    assert order["totals"]["refunded"] == "39.80"
    assert published_data(app, "ReturnReceived") == [
        {
            "order_id": f.ORDER_ID,
            "return_id": f"{f.ORDER_ID}-R1",
            "resellable": [{"sku": "TSHIRT-RED-M", "quantity": 1}],
            "damaged": [{"sku": "TSHIRT-RED-M", "quantity": 1}],
        }
    ]
    assert published_data(app, "RefundIssued") == [
        {
            "order_id": f.ORDER_ID,
            "return_id": f"{f.ORDER_ID}-R1",
            "amount": "39.80",
            "currency": "EUR",
            "payment_reference": "pi_3Pq",
            "capped": None,
        }
    ]


def test_a_refund_is_capped_at_what_was_authorized(app: OrdersApplication) -> None:
    delivered_order(app)
    deliver(app.request_return, f.consumed(), f.return_requested({"TSHIRT-RED-M": 1}))

    deliver(app.record_return_restocked, f.consumed(), f.return_restocked([("TSHIRT-RED-M", "LIS-1", 2, 0)]))

    assert published_data(app, "RefundIssued")[0]["amount"] == "19.90"


def test_a_return_of_more_than_was_delivered_is_declined_naming_the_sku(app: OrdersApplication) -> None:
    delivered_order(app)

    deliver(app.request_return, f.consumed(), f.return_requested({"TSHIRT-RED-M": 3}))

    order = app.get_order(f.ORDER_ID)
    assert order is not None
    assert order["status"] == "delivered"
    assert order["returns"][0]["status"] == "declined"
    declined = published_data(app, "ReturnDeclined")
    assert len(declined) == 1
    assert "TSHIRT-RED-M" in declined[0]["refusal"]
    assert "2 delivered" in declined[0]["refusal"]
    assert published(app, "ReturnApproved") == []


def test_units_under_an_open_return_cannot_be_claimed_again(app: OrdersApplication) -> None:
    delivered_order(app)
    deliver(app.request_return, f.consumed(), f.return_requested({"TSHIRT-RED-M": 2}))

    deliver(app.request_return, f.consumed(), f.return_requested({"TSHIRT-RED-M": 1}), requested_by="agent-17")

    assert [r["return_id"] for r in published_data(app, "ReturnDeclined")] == [f"{f.ORDER_ID}-R2"]
    assert published_data(app, "ReturnDeclined")[0]["requested_by"] == "agent-17"


def test_units_already_returned_cannot_be_returned_again(app: OrdersApplication) -> None:
    delivered_order(app)
    deliver(app.request_return, f.consumed(), f.return_requested({"TSHIRT-RED-M": 2}))
    deliver(app.record_return_restocked, f.consumed(), f.return_restocked([("TSHIRT-RED-M", "LIS-1", 2, 0)]))

    deliver(app.request_return, f.consumed(), f.return_requested({"TSHIRT-RED-M": 1}))

    assert len(published(app, "ReturnDeclined")) == 1


def test_a_return_before_delivery_is_declined(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed())

    deliver(app.request_return, f.consumed(), f.return_requested({"TSHIRT-RED-M": 1}))

    assert "0 delivered" in published_data(app, "ReturnDeclined")[0]["refusal"]


def test_a_return_of_a_sku_not_in_the_order_is_declined(app: OrdersApplication) -> None:
    delivered_order(app)

    deliver(app.request_return, f.consumed(), f.return_requested({"MUG-1": 1}))

    assert "MUG-1 is not part of the order" in published_data(app, "ReturnDeclined")[0]["refusal"]


def test_restocked_goods_close_the_oldest_open_return_covering_them(app: OrdersApplication) -> None:
    delivered_order(app, lines={"TSHIRT-RED-M": (2, "19.90"), "MUG-1": (1, "7.50")})
    deliver(app.request_return, f.consumed(), f.return_requested({"TSHIRT-RED-M": 1}))
    deliver(app.request_return, f.consumed(), f.return_requested({"MUG-1": 1}))

    deliver(app.record_return_restocked, f.consumed(), f.return_restocked([("MUG-1", "LIS-1", 1, 0)]))

    returns = app.get_returns(f.ORDER_ID)
    assert returns is not None
    assert [(r["return_id"], r["status"], r["refund_amount"]) for r in returns] == [
        (f"{f.ORDER_ID}-R1", "approved", None),
        (f"{f.ORDER_ID}-R2", "refunded", "7.50"),
    ]
    order = app.get_order(f.ORDER_ID)
    assert order is not None
    assert order["status"] == "return_requested"


def test_restocked_goods_without_an_open_return_are_refunded_nothing(app: OrdersApplication) -> None:
    delivered_order(app)

    deliver(app.record_return_restocked, f.consumed(), f.return_restocked([("TSHIRT-RED-M", "LIS-1", 1, 0)]))

    assert published(app, "RefundIssued") == []


def test_units_restocked_in_two_warehouses_count_together(app: OrdersApplication) -> None:
    delivered_order(app)
    deliver(app.request_return, f.consumed(), f.return_requested({"TSHIRT-RED-M": 2}))

    deliver(
        app.record_return_restocked,
        f.consumed(),
        f.return_restocked([("TSHIRT-RED-M", "LIS-1", 1, 0), ("TSHIRT-RED-M", "MAD-1", 1, 0)]),
    )

    assert published_data(app, "RefundIssued")[0]["amount"] == "39.80"
    assert published_data(app, "ReturnReceived")[0]["resellable"] == [{"sku": "TSHIRT-RED-M", "quantity": 2}]
