"""OrderCancelled: shipments not yet dispatched are cancelled; a dispatched one records the refusal."""

from __future__ import annotations

import pytest

from services.shipping.application import ShippingApplication
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
