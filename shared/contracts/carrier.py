"""Topic `carrier.tracking`: what carriers send (fixed by CONTRACT.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from shared.contracts.envelope import Contract
from shared.contracts.warehouse import Carrier, TrackingNumber

CarrierStatus = Literal[
    "label_created",
    "picked_up",
    "in_transit",
    "out_for_delivery",
    "available_for_pickup",
    "delivery_attempted",
    "delayed",
    "exception",
    "returned_to_sender",
    "delivered",
]
Note = Annotated[str, StringConstraints(max_length=500)]


class TrackingUpdatedV1(Contract):
    tracking_number: TrackingNumber
    carrier: Carrier
    status: CarrierStatus
    location: Note | None = None
    detail: Note | None = None


CARRIER_TYPES: dict[str, type[Contract]] = {"TrackingUpdated": TrackingUpdatedV1}
