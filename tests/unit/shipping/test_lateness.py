"""Lateness is a pure question of the shipment and today's date."""

from __future__ import annotations

from datetime import date

from services.shipping.domain.shipment import Shipment, ShipmentLine
from tests.unit.shipping import factories as f


def requested(promised: date = f.PROMISED) -> Shipment:
    return Shipment(
        shipment_id=f.SHIPMENT_ID,
        order_id=f.ORDER_ID,
        warehouse="LIS-1",
        lines=[ShipmentLine("TSHIRT-RED-M", 2)],
        shipping_address={"country": "PT"},
        shipping_method="standard",
        promised_delivery_by=promised,
        requested_at=f.at(1),
    )


def test_a_shipment_is_not_late_on_its_promised_date() -> None:
    assert requested().is_late(today=date(2026, 12, 2)) is False


def test_an_undelivered_shipment_is_late_the_day_after_its_promised_date() -> None:
    assert requested().is_late(today=date(2026, 12, 3)) is True


def test_a_cancelled_shipment_is_never_late() -> None:
    shipment = requested()
    shipment.cancel("customer_changed_mind", f.at(1, 10))

    assert shipment.is_late(today=date(2027, 1, 1)) is False


def test_a_delivered_shipment_is_late_only_if_it_arrived_after_the_promised_date() -> None:
    on_time, late = requested(), requested()
    for shipment, delivered_on in ((on_time, 2), (late, 3)):
        shipment.dispatch("CTT", "CTT-1", f.at(1, 15))
        shipment.record_tracking("CTT", "delivered", None, None, f.at(delivered_on, 10))

    assert on_time.is_late(today=date(2027, 1, 1)) is False
    assert late.is_late(today=date(2026, 12, 3)) is True
