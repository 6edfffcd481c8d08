"""Cancellation in shipping, the authority on dispatch: orders' pending cancellation is decided here for all the
order's shipments at once; OrderCancelled (the outcome) cancels what is left, and a dispatched one records a
refusal."""

from __future__ import annotations

import pytest

from services.shipping.application import ShippingApplication
from services.shipping.domain.order_shipments import OrderShipments
from shared.contracts.envelope import InvalidMessage
from tests.unit.deliveries import deliver
from tests.unit.shipping import factories as f


def test_an_order_cancelled_before_dispatch_cancels_its_shipment(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested())
    deliver(app.record_picked, f.consumed(), f.scan())
    deliver(app.cancel_order_shipments, f.consumed(), f.order_cancelled(reason="customer_changed_mind"), f.at(1, 12))

    shipment = app.get_shipment(f.SHIPMENT_ID)
    assert shipment is not None
    assert shipment["status"] == "cancelled"
    assert shipment["steps"][-1] == {"status": "cancelled", "at": f.at(1, 12), "note": "customer_changed_mind"}
    assert shipment["late"] is False


def test_a_scan_of_a_cancelled_shipment_is_an_invalid_message(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested())
    deliver(app.cancel_order_shipments, f.consumed(), f.order_cancelled())

    with pytest.raises(InvalidMessage) as packed:
        deliver(app.record_packed, f.consumed(), f.scan())
    with pytest.raises(InvalidMessage) as dispatched:
        deliver(app.record_dispatched, f.consumed(), f.dispatched())

    reason = f"data.shipment_id: shipment '{f.SHIPMENT_ID}' was cancelled"
    assert (packed.value.reason, dispatched.value.reason) == (reason, reason)
    assert app.get_shipment(f.SHIPMENT_ID)["status"] == "cancelled"  # type: ignore[index]


def test_a_dispatched_shipment_refuses_cancellation(dispatched_app: ShippingApplication) -> None:
    deliver(dispatched_app.cancel_order_shipments, f.consumed(), f.order_cancelled(), f.at(1, 18))

    shipment = dispatched_app.get_shipment(f.SHIPMENT_ID)
    assert shipment is not None
    assert shipment["status"] == "dispatched"
    assert shipment["steps"][-1] == {"status": "cancellation_refused", "at": f.at(1, 18), "note": "already dispatched"}


def test_cancellation_touches_each_shipment_of_the_order_by_its_own_state(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-100045-LIS-1-1", warehouse="LIS-1"))
    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-100045-MAD-1-2", warehouse="MAD-1"))
    deliver(app.record_dispatched, f.consumed(), f.dispatched("SO-100045-MAD-1-2"))
    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-OTHER-LIS-1-1", order_id="SO-OTHER"))

    deliver(app.cancel_order_shipments, f.consumed(), f.order_cancelled())

    assert {s["shipment_id"]: s["status"] for s in app.shipments_for_order(f.ORDER_ID)} == {
        "SO-100045-LIS-1-1": "cancelled",
        "SO-100045-MAD-1-2": "dispatched",
    }
    assert app.get_shipment("SO-OTHER-LIS-1-1")["status"] == "requested"  # type: ignore[index]


def test_cancelling_a_cancelled_shipment_changes_nothing(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested())
    deliver(app.cancel_order_shipments, f.consumed(), f.order_cancelled(reason="first"))
    deliver(app.cancel_order_shipments, f.consumed(), f.order_cancelled(reason="second"))

    shipment = app.get_shipment(f.SHIPMENT_ID)
    assert shipment is not None
    assert [(step["status"], step["note"]) for step in shipment["steps"]] == [
        ("requested", None),
        ("cancelled", "first"),
    ]


def test_an_order_without_shipments_is_cancelled_without_error(app: ShippingApplication) -> None:
    deliver(app.cancel_order_shipments, f.consumed(), f.order_cancelled("SO-NOTHING"))

    assert app.shipments_for_order("SO-NOTHING") == []


# OrderCancellationPending: shipping decides, for all of the order's shipments at once.


def test_a_pending_cancellation_cancels_every_shipment_not_dispatched(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-100045-LIS-1-1", warehouse="LIS-1"))
    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-100045-MAD-1-2", warehouse="MAD-1"))
    deliver(app.record_packed, f.consumed(), f.scan("SO-100045-MAD-1-2"))

    deliver(app.decide_cancellation, f.consumed(), f.cancellation_pending(), f.at(1, 12))

    assert {s["shipment_id"]: s["status"] for s in app.shipments_for_order(f.ORDER_ID)} == {
        "SO-100045-LIS-1-1": "cancelled",
        "SO-100045-MAD-1-2": "cancelled",
    }
    # The warehouse's dispatch scan that comes after is refused, as for any cancelled shipment.
    with pytest.raises(InvalidMessage, match="was cancelled"):
        deliver(app.record_dispatched, f.consumed(), f.dispatched("SO-100045-MAD-1-2"))


def test_a_pending_cancellation_is_refused_whole_when_one_shipment_has_left(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-100045-LIS-1-1", warehouse="LIS-1"))
    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-100045-MAD-1-2", warehouse="MAD-1"))
    deliver(app.record_dispatched, f.consumed(), f.dispatched("SO-100045-MAD-1-2"))

    deliver(app.decide_cancellation, f.consumed(), f.cancellation_pending(), f.at(1, 18))

    # The order continues: the other shipment is not touched, and goes out as planned.
    assert {s["shipment_id"]: s["status"] for s in app.shipments_for_order(f.ORDER_ID)} == {
        "SO-100045-LIS-1-1": "requested",
        "SO-100045-MAD-1-2": "dispatched",
    }
    refused = app.get_shipment("SO-100045-MAD-1-2")
    assert refused is not None
    assert refused["steps"][-1] == {"status": "cancellation_refused", "at": f.at(1, 18), "note": "already dispatched"}
    deliver(app.record_dispatched, f.consumed(), f.dispatched("SO-100045-LIS-1-1", tracking_number="T-9"))
    assert app.get_shipment("SO-100045-LIS-1-1")["status"] == "dispatched"  # type: ignore[index]


def test_a_shipment_requested_after_a_confirmed_cancellation_is_cancelled_on_arrival(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-100045-LIS-1-1"))
    deliver(app.decide_cancellation, f.consumed(), f.cancellation_pending(reason="customer_changed_mind"))

    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-100045-MAD-1-2", warehouse="MAD-1"), f.at(2))

    late = app.get_shipment("SO-100045-MAD-1-2")
    assert late is not None and late["status"] == "cancelled"
    assert late["steps"][-1] == {"status": "cancelled", "at": f.at(2), "note": "customer_changed_mind"}
    with pytest.raises(InvalidMessage, match="was cancelled"):
        deliver(app.record_dispatched, f.consumed(), f.dispatched("SO-100045-MAD-1-2"))


def test_a_pending_cancellation_before_any_shipment_closes_the_order_here(app: ShippingApplication) -> None:
    deliver(app.decide_cancellation, f.consumed(), f.cancellation_pending())

    deliver(app.create_shipment, f.consumed(), f.shipment_requested())

    assert app.get_shipment(f.SHIPMENT_ID)["status"] == "cancelled"  # type: ignore[index]


def test_a_shipment_requested_after_a_refusal_goes_ahead(dispatched_app: ShippingApplication) -> None:
    deliver(dispatched_app.decide_cancellation, f.consumed(), f.cancellation_pending())

    deliver(dispatched_app.create_shipment, f.consumed(), f.shipment_requested("SO-100045-MAD-1-2", warehouse="MAD-1"))

    assert dispatched_app.get_shipment("SO-100045-MAD-1-2")["status"] == "requested"  # type: ignore[index]


def test_a_scan_that_waited_for_its_request_is_refused_when_the_order_was_cancelled(app: ShippingApplication) -> None:
    deliver(app.record_dispatched, f.consumed(), f.dispatched())  # before its request: it waits
    deliver(app.decide_cancellation, f.consumed(), f.cancellation_pending())

    deliver(app.create_shipment, f.consumed(), f.shipment_requested())

    shipment = app.get_shipment(f.SHIPMENT_ID)
    assert shipment is not None and shipment["status"] == "cancelled" and shipment["carrier"] is None


def test_the_same_pending_cancellation_twice_is_answered_once(app: ShippingApplication) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested())
    deliver(app.decide_cancellation, f.consumed(), f.cancellation_pending())
    version = app.find(OrderShipments.create_id(f.ORDER_ID)).version

    deliver(app.decide_cancellation, f.consumed(), f.cancellation_pending())

    assert app.find(OrderShipments.create_id(f.ORDER_ID)).version == version
    assert app.get_shipment(f.SHIPMENT_ID)["status"] == "cancelled"  # type: ignore[index]
