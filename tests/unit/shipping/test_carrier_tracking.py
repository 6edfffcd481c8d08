"""Carrier updates: every one is history, only current ones set the status, delivery and return are final."""

from __future__ import annotations

from typing import Any

from services.shipping.application import ShippingApplication
from tests.unit.deliveries import deliver
from tests.unit.shipping import factories as f


def shipment(app: ShippingApplication) -> dict[str, Any]:
    view = app.get_shipment(f.SHIPMENT_ID)
    assert view is not None
    return view


def test_a_carrier_exception_is_followed_by_delivery(dispatched_app: ShippingApplication) -> None:
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("exception", detail="address unclear"), f.at(2, 9))
    assert shipment(dispatched_app)["status"] == "exception"

    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("delivered"), f.at(2, 16))
    assert shipment(dispatched_app)["status"] == "delivered"


def test_delivery_attempted_and_delayed_are_passed_by_later_updates(dispatched_app: ShippingApplication) -> None:
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("delivery_attempted"), f.at(2, 9))
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("delayed"), f.at(2, 18))
    assert shipment(dispatched_app)["status"] == "delayed"

    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("out_for_delivery"), f.at(3, 8))
    assert shipment(dispatched_app)["status"] == "out_for_delivery"


def test_an_older_update_arriving_late_is_history_only(dispatched_app: ShippingApplication) -> None:
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("out_for_delivery"), f.at(2, 8))
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("in_transit", location="Porto"), f.at(1, 20))

    view = shipment(dispatched_app)
    assert view["status"] == "out_for_delivery"
    assert [(e["status"], e["location"], e["applied"]) for e in view["tracking"]] == [
        ("in_transit", "Porto", False),  # by the carrier's time, not by arrival
        ("out_for_delivery", "Lisboa", True),
    ]


def test_nothing_moves_a_shipment_out_of_delivered(dispatched_app: ShippingApplication) -> None:
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("delivered"), f.at(2, 11))
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("exception"), f.at(2, 15))
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("returned_to_sender"), f.at(3, 9))

    view = shipment(dispatched_app)
    assert view["status"] == "delivered"
    assert view["delivered_at"] == f.at(2, 11)
    assert [(e["status"], e["applied"]) for e in view["tracking"]] == [
        ("delivered", True),
        ("exception", False),
        ("returned_to_sender", False),
    ]


def test_returned_to_sender_is_final(dispatched_app: ShippingApplication) -> None:
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("returned_to_sender"), f.at(4, 10))
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("delivered"), f.at(5, 10))

    view = shipment(dispatched_app)
    assert view["status"] == "returned_to_sender"
    assert view["delivered_at"] is None
    assert [step["status"] for step in view["steps"]][-1] == "returned_to_sender"


def test_a_delivery_reported_with_an_older_time_still_ends_the_shipment(dispatched_app: ShippingApplication) -> None:
    # Carriers send nothing after delivering: were it history only, the shipment would never be delivered.
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("out_for_delivery"), f.at(2, 12))
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("delivered"), f.at(2, 11, 58))

    view = shipment(dispatched_app)
    assert view["status"] == "delivered"
    assert view["delivered_at"] == f.at(2, 11, 58)


def test_a_delivery_after_the_promised_date_is_late(dispatched_app: ShippingApplication) -> None:
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("delivered"), f.at(3, 9))

    view = shipment(dispatched_app)
    assert view["late"] is True
    assert view["promised_delivery_by"] == f.PROMISED


def test_a_delivery_on_the_promised_date_is_on_time_whatever_today_is(dispatched_app: ShippingApplication) -> None:
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("delivered"), f.at(2, 23, 59))

    assert dispatched_app.get_shipment(f.SHIPMENT_ID, today=f.at(20).date())["late"] is False  # type: ignore[index]


def test_a_shipment_still_on_its_way_after_the_promised_date_is_late(dispatched_app: ShippingApplication) -> None:
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("in_transit"), f.at(1, 20))

    assert dispatched_app.get_shipment(f.SHIPMENT_ID, today=f.at(2).date())["late"] is False  # type: ignore[index]
    assert dispatched_app.get_shipment(f.SHIPMENT_ID, today=f.at(3).date())["late"] is True  # type: ignore[index]


def test_updates_that_arrive_before_the_dispatch_are_applied_when_it_comes(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested())
    deliver(app.record_tracking, f.consumed(), f.tracking("in_transit"), f.at(1, 20))
    deliver(app.record_tracking, f.consumed(), f.tracking("delivered"), f.at(2, 10))
    assert (app.get_shipment(f.SHIPMENT_ID) or {})["status"] == "requested"

    deliver(app.record_dispatched, f.consumed(), f.dispatched(), f.at(1, 15))

    shipment = app.get_shipment(f.SHIPMENT_ID)
    assert shipment is not None
    assert shipment["status"] == "delivered"
    assert [(entry["status"], entry["reported_at"]) for entry in shipment["tracking"]] == [
        ("in_transit", f.at(1, 20)),
        ("delivered", f.at(2, 10)),
    ]
