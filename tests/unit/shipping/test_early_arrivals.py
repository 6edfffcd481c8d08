"""Early messages wait for what they name, but not for ever, and none is dropped without a word: one that waited
longer than its patience, or that its shipment refuses when it is finally applied, is recorded with the reason
and mapped to a copy for the DLQ of the topic it came on (same event id, type, time and data)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.shipping.adapters.outbound import to_outbound
from services.shipping.application import ShippingApplication
from services.shipping.domain.early_arrivals import EarlyArrivals, WaitingMessage
from shared.contracts.topics import CARRIER_TRACKING, WAREHOUSE_EVENTS
from shared.messaging.outbound import DeadLetter
from tests.unit.deliveries import deliver
from tests.unit.shipping import factories as f

PATIENCE = timedelta(hours=1)


def dead_letters(app: ShippingApplication) -> list[DeadLetter]:
    events = map(app.mapper.to_domain_event, app.recorder.select_notifications(1, 1000))
    letters: list[DeadLetter] = []
    for event in events:
        mapped = to_outbound(event)
        letters += [m for m in (mapped if isinstance(mapped, list) else [mapped]) if isinstance(m, DeadLetter)]
    return letters


def later(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def test_an_update_for_a_tracking_number_never_dispatched_expires_to_the_carrier_dlq(app: ShippingApplication) -> None:
    update = f.consumed()
    deliver(app.record_tracking, update, f.tracking("in_transit", location="Lisboa"), f.at(2, 8))

    deliver(app.expire_waiting, f.consumed(), [f"tracking:{f.TRACKING_NUMBER}"], later(0.5), PATIENCE)
    assert dead_letters(app) == []  # not waited long enough yet

    deliver(app.expire_waiting, f.consumed(), [f"tracking:{f.TRACKING_NUMBER}"], later(2), PATIENCE)
    (letter,) = dead_letters(app)
    assert letter.topic == CARRIER_TRACKING and letter.key == f.TRACKING_NUMBER
    assert letter.message_id == update.message_id and letter.type == "TrackingUpdated"
    assert letter.occurred_at == f.at(2, 8)
    assert letter.data["tracking_number"] == f.TRACKING_NUMBER and letter.data["status"] == "in_transit"
    assert letter.data["location"] == "Lisboa"
    assert letter.error_type == "expired"
    assert letter.reason == (
        f"data.tracking_number: tracking:{f.TRACKING_NUMBER} did not appear within 1h of this message's arrival"
    )


def test_an_expired_update_is_not_applied_when_its_dispatch_comes_after_all(app: ShippingApplication) -> None:
    deliver(app.record_tracking, f.consumed(), f.tracking("in_transit"), f.at(2, 8))
    deliver(app.expire_waiting, f.consumed(), [f"tracking:{f.TRACKING_NUMBER}"], later(2), PATIENCE)

    deliver(app.create_shipment, f.consumed(), f.shipment_requested(), f.at(1, 9))
    deliver(app.record_dispatched, f.consumed(), f.dispatched(), f.at(1, 15))

    shipment = app.get_shipment(f.SHIPMENT_ID)
    assert shipment is not None and shipment["status"] == "dispatched" and shipment["tracking"] == []


def test_a_dispatch_scan_refused_when_its_request_finally_comes_goes_to_the_warehouse_dlq(
    app: ShippingApplication,
) -> None:
    early_dispatch = f.consumed()
    deliver(app.record_dispatched, early_dispatch, f.dispatched("SO-2-LIS-1-1", tracking_number="CTT-7"), f.at(1, 11))
    # Meanwhile another shipment leaves under that tracking number.
    deliver(app.create_shipment, f.consumed(), f.shipment_requested(), f.at(1, 9))
    deliver(app.record_dispatched, f.consumed(), f.dispatched(tracking_number="CTT-7"), f.at(1, 12))

    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-2-LIS-1-1", order_id="SO-2"), f.at(1, 13))

    (letter,) = dead_letters(app)
    assert letter.topic == WAREHOUSE_EVENTS and letter.key == "SO-2-LIS-1-1"
    assert letter.message_id == early_dispatch.message_id and letter.type == "ShipmentDispatched"
    assert letter.data == {"shipment_id": "SO-2-LIS-1-1", "carrier": "CTT", "tracking_number": "CTT-7"}
    assert letter.error_type == "refused_when_applied"
    assert "already belongs to shipment" in letter.reason
    assert app.get_shipment("SO-2-LIS-1-1")["status"] == "requested"  # type: ignore[index]


def test_only_the_overdue_messages_of_a_key_expire() -> None:
    waiting = EarlyArrivals("shipment:NOPE-1")
    first_arrival = datetime(2026, 12, 1, 10, tzinfo=UTC)
    waiting.park(WaitingMessage("ShipmentPicked", f.at(1, 9), {}, "m-1", parked_at=first_arrival))
    waiting.park(WaitingMessage("ShipmentPacked", f.at(1, 9), {}, "m-2", parked_at=first_arrival + PATIENCE / 2))

    waiting.expire(first_arrival + PATIENCE, PATIENCE)

    (expired,) = [e for e in waiting.collect_events() if isinstance(e, EarlyArrivals.Expired)]
    assert [m.message_id for m in expired.messages] == ["m-1"]
    assert expired.waiting_since == first_arrival + PATIENCE / 2
    assert [m.message_id for m in waiting.waiting] == ["m-2"]
