"""Which shipment a tracking number belongs to: carriers know only their tracking number."""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from services.shipping.domain import SHIPPING_NAMESPACE


class TrackingNumberInUse(Exception):
    """The warehouse reused a tracking number: carrier updates could not tell the two shipments apart."""


class TrackingNumberIndex(Aggregate):
    """Created in the same commit as the dispatch that assigns the tracking number; never changes after."""

    def __init__(self, tracking_number: str, shipment_id: str) -> None:
        self.tracking_number = tracking_number
        self.shipment_id = shipment_id

    @staticmethod
    def create_id(tracking_number: str) -> UUID:
        return uuid5(SHIPPING_NAMESPACE, f"tracking-number:{tracking_number}")

    def check_free_for(self, shipment_id: str) -> None:
        if self.shipment_id != shipment_id:
            raise TrackingNumberInUse(
                f"tracking number {self.tracking_number!r} already belongs to shipment {self.shipment_id!r}"
            )
