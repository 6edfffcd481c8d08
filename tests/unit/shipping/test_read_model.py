"""The logistics read model: folding batches of shipment events into summaries, idempotently, as the projection
runner feeds them from the event log (here the in-memory one, into the store port kept in dicts). The MongoDB
side — writes and queries — is covered by tests/integration/test_logistics.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest

from services.shipping.application import ShippingApplication
from services.shipping.domain.shipment import Shipment
from services.shipping.read_model import ShipmentProjection, WaitingChange, fold
from tests.unit.deliveries import deliver
from tests.unit.shipping import factories as f

Document = dict[str, Any]


class MemorySummaries:
    """The projection's store port kept in dicts: what the projection writes, and how often it reads."""

    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}
        self.open: dict[str, Document] = {}
        self.waiting: dict[str, datetime] = {}
        self.loads = 0

    async def load(self, shipment_ids: Sequence[str]) -> dict[str, Document]:
        self.loads += len(shipment_ids)
        return {i: dict(self.documents[i]) for i in shipment_ids if i in self.documents}

    async def save(self, summaries: Sequence[Document], still_open: Sequence[Document], closed: Sequence[str]) -> None:
        self.open.update({d["_id"]: dict(d) for d in still_open})
        for shipment_id in closed:
            self.open.pop(shipment_id, None)
        self.documents.update({d["_id"]: dict(d) for d in summaries})

    async def index_waiting(self, changes: Mapping[str, WaitingChange]) -> None:
        for key, (op, since) in changes.items():
            if since is None:
                self.waiting.pop(key, None)
            elif op == "earliest" and key in self.waiting:
                self.waiting[key] = min(self.waiting[key], since)
            else:
                self.waiting[key] = since


@dataclass
class Projection:
    app: ShippingApplication
    store: MemorySummaries
    projection: ShipmentProjection
    position: int = 0
    replay_upto: int = 0

    @property
    def open_shipments(self) -> dict[str, Document]:
        return self.store.open

    def summary(self, shipment_id: str = f.SHIPMENT_ID) -> Document:
        return self.store.documents[shipment_id]

    async def catch_up(self, batch_size: int = 3) -> None:
        """What the runner does: the log after the position, in batches."""
        while notifications := self.app.recorder.select_notifications(self.position + 1, batch_size):
            events = [self.app.mapper.to_domain_event(n) for n in notifications]
            await self.projection.apply_batch(events, replaying=self.position < self.replay_upto)
            self.position = notifications[-1].id

    async def replay(self) -> None:
        """As after a crash between applying a batch and saving the position: a new owner starts over."""
        self.projection.reset()
        self.position = 0
        self.replay_upto = self.app.recorder.max_notification_id() or 0
        await self.catch_up()


@pytest.fixture
def projection(app: ShippingApplication) -> Projection:
    store = MemorySummaries()
    return Projection(app, store, ShipmentProjection(store))


async def test_a_requested_shipment_waits_to_be_picked(app: ShippingApplication, projection: Projection) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested(), f.at(1, 9))

    await projection.catch_up()

    summary = projection.summary()
    assert summary["status"] == "requested" and summary["next_step"] == "pick"
    assert summary["warehouse"] == "LIS-1" and summary["order_id"] == f.ORDER_ID
    assert summary["promised_delivery_by"] == "2026-12-02"
    assert summary["lines"] == [{"sku": "TSHIRT-RED-M", "quantity": 2}]
    assert summary["version"] == 1
    assert f.SHIPMENT_ID in projection.open_shipments


async def test_warehouse_steps_move_the_next_step_on(app: ShippingApplication, projection: Projection) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested(), f.at(1, 9))
    deliver(app.record_picked, f.consumed(), f.scan(), f.at(1, 10))
    await projection.catch_up()
    assert projection.summary()["next_step"] == "pack"

    deliver(app.record_packed, f.consumed(), f.scan(), f.at(1, 11))
    await projection.catch_up()
    assert projection.summary()["next_step"] == "dispatch"

    deliver(app.record_dispatched, f.consumed(), f.dispatched(), f.at(1, 12))
    await projection.catch_up()
    summary = projection.summary()
    assert (summary["status"], summary["next_step"]) == ("dispatched", None)
    assert (summary["carrier"], summary["tracking_number"]) == ("CTT", f.TRACKING_NUMBER)


async def test_only_applied_carrier_updates_set_the_status(
    dispatched_app: ShippingApplication, projection: Projection
) -> None:
    deliver(
        dispatched_app.record_tracking, f.consumed(), f.tracking("exception", detail="address unknown"), f.at(2, 10)
    )
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("in_transit"), f.at(2, 8))  # older: history only

    await projection.catch_up()

    summary = projection.summary()
    assert summary["status"] == "exception"
    assert summary["carrier_detail"] == "address unknown"


async def test_delivered_and_cancelled_shipments_leave_the_open_set(
    dispatched_app: ShippingApplication, projection: Projection
) -> None:
    deliver(
        dispatched_app.create_shipment, f.consumed(), f.shipment_requested("SO-2-LIS-1-1", order_id="SO-2"), f.at(1, 9)
    )
    await projection.catch_up()
    assert set(projection.open_shipments) == {f.SHIPMENT_ID, "SO-2-LIS-1-1"}

    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("delivered"), f.at(3, 10))
    deliver(dispatched_app.cancel_order_shipments, f.consumed(), f.order_cancelled("SO-2"), f.at(1, 10))
    await projection.catch_up()

    assert projection.open_shipments == {}
    delivered = projection.summary()
    assert delivered["status"] == "delivered" and delivered["delivered_late"] is True
    assert projection.summary("SO-2-LIS-1-1")["status"] == "cancelled"


async def test_replaying_the_whole_log_changes_nothing(
    dispatched_app: ShippingApplication, projection: Projection
) -> None:
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("delivery_attempted"), f.at(2, 10))
    await projection.catch_up()
    before = dict(projection.summary())

    await projection.replay()

    assert projection.summary() == before
    assert projection.open_shipments[f.SHIPMENT_ID] == before


async def test_a_crash_between_the_summary_and_the_queue_is_repaired_by_the_replay(
    app: ShippingApplication, projection: Projection
) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested(), f.at(1, 9))
    await projection.catch_up()
    # The process died after writing the summary and before writing the warehouse queue.
    del projection.open_shipments[f.SHIPMENT_ID]

    await projection.replay()

    assert projection.open_shipments[f.SHIPMENT_ID] == projection.summary()


async def test_the_owner_reads_the_store_only_for_shipments_it_does_not_hold(
    app: ShippingApplication, projection: Projection
) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested(), f.at(1, 9))
    await projection.replay()  # what was stored before a start may have been applied: it looks
    looked = projection.store.loads

    deliver(app.create_shipment, f.consumed(), f.shipment_requested("SO-2-LIS-1-1", order_id="SO-2"), f.at(1, 9))
    deliver(app.record_picked, f.consumed(), f.scan(), f.at(1, 10))
    await projection.catch_up()

    assert projection.store.loads == looked  # a new shipment and one it wrote: nothing read
    assert projection.summary()["status"] == "picked"
    assert projection.summary("SO-2-LIS-1-1")["status"] == "requested"


def test_an_event_at_or_below_the_summary_version_is_skipped(dispatched_app: ShippingApplication) -> None:
    events = list(dispatched_app.events.get(dispatched_app.repository.get(_shipment_id()).id))
    created = fold(None, events[0])
    assert created is not None
    dispatched = fold(created, events[1])
    assert dispatched is not None and dispatched["version"] == 2

    assert fold(dispatched, events[1]) is None
    assert fold(dispatched, events[0]) is None


def test_events_of_other_aggregates_are_not_folded(dispatched_app: ShippingApplication) -> None:
    notifications = dispatched_app.recorder.select_notifications(1, 100)
    others = [
        event
        for event in map(dispatched_app.mapper.to_domain_event, notifications)
        if event.originator_id != _shipment_id()
    ]

    assert others and all(fold(None, event) is None for event in others)


def _shipment_id() -> UUID:
    return Shipment.create_id(f.SHIPMENT_ID)


async def test_the_keys_that_messages_wait_for_are_indexed_until_they_appear(
    app: ShippingApplication, projection: Projection
) -> None:
    deliver(app.record_picked, f.consumed(), f.scan(), f.at(1, 10))
    deliver(app.record_tracking, f.consumed(), f.tracking("in_transit"), f.at(2, 8))
    await projection.catch_up()
    assert set(projection.store.waiting) == {f"shipment:{f.SHIPMENT_ID}", f"tracking:{f.TRACKING_NUMBER}"}
    first = projection.store.waiting[f"shipment:{f.SHIPMENT_ID}"]

    deliver(app.record_packed, f.consumed(), f.scan(), f.at(1, 11))
    await projection.catch_up()
    assert projection.store.waiting[f"shipment:{f.SHIPMENT_ID}"] == first  # since the oldest arrival

    deliver(app.create_shipment, f.consumed(), f.shipment_requested(), f.at(1, 9))
    deliver(app.record_dispatched, f.consumed(), f.dispatched(), f.at(1, 15))
    await projection.catch_up()
    assert projection.store.waiting == {}
