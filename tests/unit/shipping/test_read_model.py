"""The logistics read model: folding shipment events into summaries, idempotently, fed by the projection runner
from the in-memory event log. Queries run on MongoDB and are covered by tests/integration/test_logistics.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

import pytest
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.shipping.application import ShippingApplication
from services.shipping.domain.shipment import Shipment
from services.shipping.read_model import ShipmentReadModel, fold
from shared.projections import ProjectionRunner
from tests.unit.deliveries import deliver
from tests.unit.shipping import factories as f

Document = dict[str, Any]


@dataclass
class Result:
    matched_count: int


class MemoryCollection:
    """Just the single-document operations the read model and the runner use, matched on equality."""

    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}

    def _match(self, query: Document) -> Document | None:
        found = self.documents.get(query["_id"])
        if found is None or any(found.get(key) != value for key, value in query.items()):
            return None
        return found

    async def find_one(self, query: Document) -> Document | None:
        found = self._match(query)
        return None if found is None else dict(found)

    async def insert_one(self, document: Document) -> None:
        if document["_id"] in self.documents:
            raise DuplicateKeyError("duplicate _id")
        self.documents[document["_id"]] = dict(document)

    async def replace_one(self, query: Document, document: Document, upsert: bool = False) -> Result:
        if self._match(query) is None and not upsert:
            return Result(0)
        self.documents[query["_id"]] = dict(document)
        return Result(1)

    async def update_one(self, query: Document, update: Document, upsert: bool = False) -> Result:
        found = self._match(query)
        if found is None and not upsert:
            return Result(0)
        self.documents[query["_id"]] = {**(found or {"_id": query["_id"]}), **update["$set"]}
        return Result(1)

    async def delete_one(self, query: Document) -> Result:
        return Result(0 if self.documents.pop(query["_id"], None) is None else 1)


def collection(memory: MemoryCollection) -> AsyncCollection[Document]:
    return cast(AsyncCollection[Document], memory)


@dataclass
class Projection:
    summaries: MemoryCollection
    open_shipments: MemoryCollection
    positions: MemoryCollection
    runner: ProjectionRunner

    def summary(self, shipment_id: str = f.SHIPMENT_ID) -> Document:
        return self.summaries.documents[shipment_id]


@pytest.fixture
def projection(app: ShippingApplication) -> Projection:
    summaries, open_shipments, positions = MemoryCollection(), MemoryCollection(), MemoryCollection()
    read_model = ShipmentReadModel(collection(summaries), collection(open_shipments))
    runner = ProjectionRunner("shipment_summaries", app, read_model.apply, collection(positions), batch_size=3)
    return Projection(summaries, open_shipments, positions, runner)


async def test_a_requested_shipment_waits_to_be_picked(app: ShippingApplication, projection: Projection) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested(), f.at(1, 9))

    await projection.runner.catch_up()

    summary = projection.summary()
    assert summary["status"] == "requested" and summary["next_step"] == "pick"
    assert summary["warehouse"] == "LIS-1" and summary["order_id"] == f.ORDER_ID
    assert summary["promised_delivery_by"] == "2026-12-02"
    assert summary["lines"] == [{"sku": "TSHIRT-RED-M", "quantity": 2}]
    assert summary["version"] == 1
    assert f.SHIPMENT_ID in projection.open_shipments.documents


async def test_warehouse_steps_move_the_next_step_on(app: ShippingApplication, projection: Projection) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested(), f.at(1, 9))
    deliver(app.record_picked, f.consumed(), f.scan(), f.at(1, 10))
    await projection.runner.catch_up()
    assert projection.summary()["next_step"] == "pack"

    deliver(app.record_packed, f.consumed(), f.scan(), f.at(1, 11))
    await projection.runner.catch_up()
    assert projection.summary()["next_step"] == "dispatch"

    deliver(app.record_dispatched, f.consumed(), f.dispatched(), f.at(1, 12))
    await projection.runner.catch_up()
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

    await projection.runner.catch_up()

    summary = projection.summary()
    assert summary["status"] == "exception"
    assert summary["carrier_detail"] == "address unknown"


async def test_delivered_and_cancelled_shipments_leave_the_open_set(
    dispatched_app: ShippingApplication, projection: Projection
) -> None:
    deliver(
        dispatched_app.create_shipment, f.consumed(), f.shipment_requested("SO-2-LIS-1-1", order_id="SO-2"), f.at(1, 9)
    )
    await projection.runner.catch_up()
    assert set(projection.open_shipments.documents) == {f.SHIPMENT_ID, "SO-2-LIS-1-1"}

    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("delivered"), f.at(3, 10))
    deliver(dispatched_app.cancel_order_shipments, f.consumed(), f.order_cancelled("SO-2"), f.at(1, 10))
    await projection.runner.catch_up()

    assert projection.open_shipments.documents == {}
    delivered = projection.summary()
    assert delivered["status"] == "delivered" and delivered["delivered_late"] is True
    assert projection.summary("SO-2-LIS-1-1")["status"] == "cancelled"


async def test_replaying_the_whole_log_changes_nothing(
    dispatched_app: ShippingApplication, projection: Projection
) -> None:
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("delivery_attempted"), f.at(2, 10))
    await projection.runner.catch_up()
    before = dict(projection.summary())

    # As after a crash between applying a batch and saving the position.
    await projection.positions.update_one({"_id": "shipment_summaries"}, {"$set": {"position": 0}})
    await projection.runner.catch_up()

    assert projection.summary() == before
    assert projection.open_shipments.documents[f.SHIPMENT_ID] == before


async def test_a_crash_between_the_summary_and_the_queue_is_repaired_by_the_replay(
    app: ShippingApplication, projection: Projection
) -> None:
    deliver(app.create_shipment, f.consumed(), f.shipment_requested(), f.at(1, 9))
    await projection.runner.catch_up()
    # The process died after writing the summary and before writing the warehouse queue.
    del projection.open_shipments.documents[f.SHIPMENT_ID]

    await projection.positions.update_one({"_id": "shipment_summaries"}, {"$set": {"position": 0}})
    await projection.runner.catch_up()

    assert projection.open_shipments.documents[f.SHIPMENT_ID] == projection.summary()


async def test_the_position_is_saved_after_each_batch(
    dispatched_app: ShippingApplication, projection: Projection
) -> None:
    position = await projection.runner.catch_up()

    assert position == dispatched_app.recorder.max_notification_id()
    assert projection.positions.documents["shipment_summaries"]["position"] == position
    assert await projection.runner.backlog() == 0


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
