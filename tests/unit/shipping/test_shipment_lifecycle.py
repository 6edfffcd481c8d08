"""From the request by orders through the warehouse scans."""

from __future__ import annotations

import pytest

from services.shipping.application import ShippingApplication
from services.shipping.domain.early_arrivals import MAX_WAITING
from services.shipping.domain.shipment import Shipment
from shared.contracts.envelope import InvalidMessage
from tests.unit.deliveries import deliver
from tests.unit.shipping import factories as f


def test_a_shipment_goes_from_requested_to_delivered(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested(), f.at(1, 9))
    assert app.get_shipment(f.SHIPMENT_ID)["status"] == "requested"  # type: ignore[index]

    deliver(app.record_picked, f.consumed(), f.scan(), f.at(1, 10))
    deliver(app.record_packed, f.consumed(), f.scan(), f.at(1, 11))
    deliver(app.record_dispatched, f.consumed(), f.dispatched(), f.at(1, 15))
    deliver(app.record_tracking, f.consumed(), f.tracking("in_transit"), f.at(1, 20))
    deliver(app.record_tracking, f.consumed(), f.tracking("delivered", location="Lisboa"), f.at(2, 11))

    shipment = app.get_shipment(f.SHIPMENT_ID)
    assert shipment is not None
    assert shipment["status"] == "delivered"
    assert shipment["order_id"] == f.ORDER_ID
    assert shipment["warehouse"] == "LIS-1"
    assert shipment["lines"] == [{"sku": "TSHIRT-RED-M", "quantity": 2}]
    assert (shipment["carrier"], shipment["tracking_number"]) == ("CTT", f.TRACKING_NUMBER)
    assert shipment["delivered_at"] == f.at(2, 11)
    assert shipment["late"] is False
    assert [(step["status"], step["at"]) for step in shipment["steps"]] == [
        ("requested", f.at(1, 9)),
        ("picked", f.at(1, 10)),
        ("packed", f.at(1, 11)),
        ("dispatched", f.at(1, 15)),
        ("delivered", f.at(2, 11)),
    ]
    assert [(entry["status"], entry["reported_at"]) for entry in shipment["tracking"]] == [
        ("in_transit", f.at(1, 20)),
        ("delivered", f.at(2, 11)),
    ]


def test_packing_without_a_picking_scan_implies_the_pick(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested())
    deliver(app.record_packed, f.consumed(), f.scan())
    deliver(app.record_picked, f.consumed(), f.scan())  # late pick scan: the shipment is already past it

    shipment = app.get_shipment(f.SHIPMENT_ID)
    assert shipment is not None
    assert shipment["status"] == "packed"
    assert [step["status"] for step in shipment["steps"]] == ["requested", "packed"]


def test_dispatch_without_pick_or_pack_scans_is_accepted(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested())
    deliver(app.record_dispatched, f.consumed(), f.dispatched())
    deliver(app.record_packed, f.consumed(), f.scan())

    shipment = app.get_shipment(f.SHIPMENT_ID)
    assert shipment is not None
    assert shipment["status"] == "dispatched"
    assert [step["status"] for step in shipment["steps"]] == ["requested", "dispatched"]


def test_a_repeated_scan_has_no_effect(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested())
    deliver(app.record_picked, f.consumed(), f.scan(), f.at(1, 10))
    deliver(app.record_picked, f.consumed(), f.scan(), f.at(1, 11))

    shipment = app.get_shipment(f.SHIPMENT_ID)
    assert shipment is not None
    assert [(step["status"], step["at"]) for step in shipment["steps"]][1:] == [("picked", f.at(1, 10))]


def test_a_second_dispatch_scan_keeps_the_first_tracking_number(dispatched_app: ShippingApplication) -> None:
    deliver(dispatched_app.record_dispatched, f.consumed(), f.dispatched(tracking_number="CTT-OTHER"))

    shipment = dispatched_app.get_shipment(f.SHIPMENT_ID)
    assert shipment is not None
    assert shipment["tracking_number"] == f.TRACKING_NUMBER
    # The second number is not the shipment's: its updates wait (for a dispatch that never gives it) and change nothing.
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("in_transit", "CTT-OTHER"), f.at(1, 20))
    assert (dispatched_app.get_shipment(f.SHIPMENT_ID) or {})["tracking"] == []


def test_a_message_consumed_twice_has_one_effect(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested())
    deliver(app.record_dispatched, f.consumed(), f.dispatched())
    update = f.consumed("carrier-event-1")
    deliver(app.record_tracking, update, f.tracking("in_transit"), f.at(1, 20))
    deliver(app.record_tracking, update, f.tracking("in_transit"), f.at(1, 20))

    shipment = app.get_shipment(f.SHIPMENT_ID)
    assert shipment is not None
    assert len(shipment["tracking"]) == 1


def test_shipment_requested_twice_creates_one_shipment(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested(), f.at(1, 9))
    deliver(app.create_shipment, f.consumed(), f.shipment_requested(), f.at(1, 10))

    shipments = app.shipments_for_order(f.ORDER_ID)
    assert [shipment["shipment_id"] for shipment in shipments] == [f.SHIPMENT_ID]
    assert shipments[0]["steps"] == [{"status": "requested", "at": f.at(1, 9), "note": None}]


def test_an_order_lists_its_split_shipments(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-100045-LIS-1-1", warehouse="LIS-1"))
    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-100045-MAD-1-2", warehouse="MAD-1"))

    shipments = app.shipments_for_order(f.ORDER_ID)
    assert [(s["shipment_id"], s["warehouse"]) for s in shipments] == [
        ("SO-100045-LIS-1-1", "LIS-1"),
        ("SO-100045-MAD-1-2", "MAD-1"),
    ]
    assert app.shipments_for_order("SO-UNKNOWN") == []


def test_scans_that_arrive_before_the_shipment_request_are_applied_when_it_comes(app: ShippingApplication) -> None:
    deliver(app.record_picked, f.consumed(), f.scan(), f.at(1, 10))
    deliver(app.record_packed, f.consumed(), f.scan(), f.at(1, 11))
    assert app.get_shipment(f.SHIPMENT_ID) is None

    deliver(app.create_shipment, f.consumed(), f.shipment_requested(), f.at(1, 9))

    shipment = app.get_shipment(f.SHIPMENT_ID)
    assert shipment is not None
    assert [(step["status"], step["at"]) for step in shipment["steps"]] == [
        ("requested", f.at(1, 9)),
        ("picked", f.at(1, 10)),
        ("packed", f.at(1, 11)),
    ]


def test_a_key_that_never_appears_holds_a_bounded_number_of_waiting_messages(app: ShippingApplication) -> None:
    for minute in range(MAX_WAITING):
        deliver(app.record_picked, f.consumed(), f.scan("NOPE-1"), f.at(1, 10, minute % 60))

    with pytest.raises(InvalidMessage) as raised:
        deliver(app.record_picked, f.consumed(), f.scan("NOPE-1"))
    assert raised.value.reason.startswith(f"data.shipment_id: {MAX_WAITING} messages already wait for shipment:NOPE-1")


def test_a_tracking_number_belongs_to_one_shipment(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-1-LIS-1-1", order_id="SO-1"))
    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-2-LIS-1-1", order_id="SO-2"))
    deliver(app.record_dispatched, f.consumed(), f.dispatched("SO-1-LIS-1-1", tracking_number="CTT-7"))

    with pytest.raises(InvalidMessage) as raised:
        deliver(app.record_dispatched, f.consumed(), f.dispatched("SO-2-LIS-1-1", tracking_number="CTT-7"))
    assert raised.value.reason == (
        "data.tracking_number: tracking number 'CTT-7' already belongs to shipment 'SO-1-LIS-1-1'"
    )
    assert app.get_shipment("SO-2-LIS-1-1")["status"] == "requested"  # type: ignore[index]


def test_a_shipment_survives_a_snapshot() -> None:
    app = ShippingApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo", "IS_SNAPSHOTTING_ENABLED": "y"})
    deliver(app.create_shipment, f.consumed(), f.shipment_requested(), f.at(1, 9))
    deliver(app.record_dispatched, f.consumed(), f.dispatched(), f.at(1, 15))
    deliver(app.record_tracking, f.consumed(), f.tracking("in_transit"), f.at(1, 20))
    before = app.get_shipment(f.SHIPMENT_ID)
    app.take_snapshot(Shipment.create_id(f.SHIPMENT_ID))

    assert app.get_shipment(f.SHIPMENT_ID) == before
