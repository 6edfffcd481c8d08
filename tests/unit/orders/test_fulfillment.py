from __future__ import annotations

import pytest

from services.orders.application import OrdersApplication
from shared.contracts.envelope import InvalidMessage
from tests.unit.deliveries import deliver
from tests.unit.orders import factories as f
from tests.unit.orders.outbox import published, published_data

SHIPMENT = f"{f.ORDER_ID}-LIS-1-1"


def counters(app: OrdersApplication, sku: str) -> dict[str, int]:
    order = app.get_order(f.ORDER_ID)
    assert order is not None
    line = next(line for line in order["lines"] if line["sku"] == sku)
    return {name: value for name, value in line.items() if name not in ("sku", "unit_price")}


def status(app: OrdersApplication) -> str:
    order = app.get_order(f.ORDER_ID)
    assert order is not None
    return str(order["status"])


def test_an_order_moves_through_reserved_shipped_and_delivered(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed())

    deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2)]))
    assert status(app) == "reserved"
    assert counters(app, "TSHIRT-RED-M")["reserved"] == 2

    deliver(app.record_shipment_dispatched, f.consumed(), f.shipment_dispatched(SHIPMENT, {"TSHIRT-RED-M": 2}))
    assert status(app) == "shipped"
    assert counters(app, "TSHIRT-RED-M")["shipped"] == 2

    deliver(app.record_shipment_delivered, f.consumed(), f.shipment_delivered(SHIPMENT, {"TSHIRT-RED-M": 2}))
    assert status(app) == "delivered"
    assert counters(app, "TSHIRT-RED-M") == {
        "ordered": 2,
        "reserved": 2,
        "backordered": 0,
        "shipped": 2,
        "delivered": 2,
        "returned": 0,
        "refunded": 0,
    }
    assert [(m["previous"], m["status"]) for m in published_data(app, "OrderStatusChanged")] == [
        (None, "received"),
        ("received", "reserved"),
        ("reserved", "shipped"),
        ("shipped", "delivered"),
    ]


def test_one_shipment_is_requested_per_warehouse_with_distinct_ids(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed(lines={"TSHIRT-RED-M": (2, "19.90"), "MUG-1": (3, "7.50")}))

    deliver(
        app.record_stock_reserved,
        f.consumed(),
        f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2), ("MUG-1", "MAD-1", 2), ("MUG-1", "LIS-1", 1)]),
    )

    requested = published_data(app, "ShipmentRequested")
    assert [(r["shipment_id"], r["warehouse"], r["lines"]) for r in requested] == [
        (f"{f.ORDER_ID}-LIS-1-1", "LIS-1", [{"sku": "TSHIRT-RED-M", "quantity": 2}, {"sku": "MUG-1", "quantity": 1}]),
        (f"{f.ORDER_ID}-MAD-1-2", "MAD-1", [{"sku": "MUG-1", "quantity": 2}]),
    ]
    assert requested[0]["shipping_address"]["city"] == "Lisboa"
    assert requested[0]["promised_delivery_by"] == "2026-12-02"
    assert status(app) == "reserved"


def test_one_of_two_shipments_dispatched_is_a_partial_shipment(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed(lines={"TSHIRT-RED-M": (2, "19.90"), "MUG-1": (1, "7.50")}))
    deliver(
        app.record_stock_reserved, f.consumed(), f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2), ("MUG-1", "MAD-1", 1)])
    )

    deliver(app.record_shipment_dispatched, f.consumed(), f.shipment_dispatched(SHIPMENT, {"TSHIRT-RED-M": 2}))

    assert status(app) == "partially_shipped"


def test_a_backordered_order_becomes_reserved_when_the_stock_arrives(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed(lines={"TSHIRT-RED-M": (2, "19.90"), "MUG-1": (1, "7.50")}))
    deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([("MUG-1", "LIS-1", 1)]))
    deliver(app.record_backorder, f.consumed(), f.stock_backordered({"TSHIRT-RED-M": 2}))
    assert status(app) == "backordered"
    assert counters(app, "TSHIRT-RED-M")["backordered"] == 2

    deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([("TSHIRT-RED-M", "MAD-1", 2)]))

    assert status(app) == "reserved"
    assert (counters(app, "TSHIRT-RED-M")["reserved"], counters(app, "TSHIRT-RED-M")["backordered"]) == (2, 0)
    assert [r["shipment_id"] for r in published_data(app, "ShipmentRequested")] == [
        f"{f.ORDER_ID}-LIS-1-1",
        f"{f.ORDER_ID}-MAD-1-2",
    ]


def test_a_redelivered_stock_reserved_requests_no_second_shipment(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed())
    message = f.consumed()
    deliver(app.record_stock_reserved, message, f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2)]))
    deliver(app.record_stock_reserved, message, f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2)]))

    assert len(published(app, "ShipmentRequested")) == 1
    assert counters(app, "TSHIRT-RED-M")["reserved"] == 2


def test_a_copy_of_inventory_answers_long_after_the_first_changes_nothing(app: OrdersApplication) -> None:
    # The runtime remembers consumed ids for a while; a producer that crashed may send its tail again much later
    # (a new owner of its log publishing from an old saved position), after a restart here forgot them.
    deliver(app.place_order, f.consumed(), f.order_placed(lines={"TSHIRT-RED-M": (2, "19.90"), "MUG-1": (3, "7.50")}))
    reserved, backordered = f.consumed(), f.consumed()
    deliver(app.record_stock_reserved, reserved, f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2)]))
    deliver(app.record_backorder, backordered, f.stock_backordered({"MUG-1": 3}))
    app.inbox.clear()

    deliver(app.record_stock_reserved, reserved, f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2)]))
    deliver(app.record_backorder, backordered, f.stock_backordered({"MUG-1": 3}))

    assert len(published(app, "ShipmentRequested")) == 1
    assert counters(app, "TSHIRT-RED-M")["reserved"] == 2
    assert counters(app, "MUG-1")["backordered"] == 3
    # A new answer (the backorder filled) still counts.
    deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([("MUG-1", "MAD-1", 3)]))
    assert (counters(app, "MUG-1")["reserved"], counters(app, "MUG-1")["backordered"]) == (3, 0)
    assert len(published(app, "ShipmentRequested")) == 2


def test_a_dispatch_reported_twice_counts_once(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed())
    deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2)]))

    deliver(app.record_shipment_dispatched, f.consumed(), f.shipment_dispatched(SHIPMENT, {"TSHIRT-RED-M": 2}))
    deliver(app.record_shipment_dispatched, f.consumed(), f.shipment_dispatched(SHIPMENT, {"TSHIRT-RED-M": 2}))

    assert counters(app, "TSHIRT-RED-M")["shipped"] == 2


def test_a_shipment_returned_to_sender_is_recorded_on_the_order(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed())
    deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2)]))
    deliver(app.record_shipment_dispatched, f.consumed(), f.shipment_dispatched(SHIPMENT, {"TSHIRT-RED-M": 2}))

    deliver(
        app.record_shipment_returned_to_sender,
        f.consumed(),
        f.shipment_returned_to_sender(SHIPMENT, {"TSHIRT-RED-M": 2}),
    )

    order = app.get_order(f.ORDER_ID)
    assert order is not None
    assert order["shipments"][0]["state"] == "returned_to_sender"


def test_an_event_about_a_shipment_the_order_never_requested_can_never_be_processed(
    app: OrdersApplication,
) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed())

    with pytest.raises(InvalidMessage, match=r"^data\.shipment_id: unknown shipment 'SO-100045-XX-9'"):
        deliver(
            app.record_shipment_dispatched,
            f.consumed(),
            f.shipment_dispatched(f"{f.ORDER_ID}-XX-9", {"TSHIRT-RED-M": 2}),
        )


def test_a_reservation_of_a_sku_the_order_does_not_have_can_never_be_processed(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed())

    with pytest.raises(InvalidMessage, match=r"^data\.allocations: sku MUG-1 not in order"):
        deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([("MUG-1", "LIS-1", 1)]))
    assert published(app, "ShipmentRequested") == []
