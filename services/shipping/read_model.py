"""The logistics read model: one summary document per shipment, folded from the shipping event log.

Event-sourced shipments cannot be listed by status, so the `ProjectionRunner` (shared/projections.py) feeds
each event of the service's own log to `ShipmentReadModel.apply`, which keeps two collections:
- `shipment_summaries`: every shipment, for `GET /shipments?status=&warehouse=&carrier=`;
- `open_shipments`: the same documents for shipments not delivered and not cancelled. FerretDB v1 filters
  only `_id` in the database and scans everything else, so the work queues (late, exceptions, warehouse)
  scan this small, bounded set instead of every shipment ever made.

Idempotent: each summary carries the shipment's `version`; an event at or below it is skipped, and writes
are compare-and-set on the version read, so a replayed batch or a second replica changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.shipping.domain.shipment import CANCELLED, DELIVERED, PACKED, PICKED, REQUESTED, Shipment

Document = dict[str, Any]

# What the warehouse does next with a shipment in each status; the queue groups shipments by it.
NEXT_STEP = {REQUESTED: "pick", PICKED: "pack", PACKED: "dispatch"}
WAREHOUSE_STEPS = tuple(NEXT_STEP.values())
# Carrier statuses a person has to look at.
EXCEPTION_STATUSES = ("exception", "delivery_attempted", "returned_to_sender")
CLOSED_STATUSES = frozenset({DELIVERED, CANCELLED})
MAX_PAGE_SIZE = 200


def _iso(value: datetime | date) -> str:
    return value.isoformat()


def fold(summary: Document | None, event: Any) -> Document | None:
    """The summary after `event`, or None when the event changes nothing (not a shipment's, or already in)."""
    if not isinstance(event, Shipment.Event):
        return None
    version = int(event.originator_version)
    if isinstance(event, Shipment.Created):
        if summary is not None:
            return None
        return {
            "_id": event.shipment_id,
            "shipment_id": event.shipment_id,
            "order_id": event.order_id,
            "warehouse": event.warehouse,
            "status": REQUESTED,
            "next_step": NEXT_STEP[REQUESTED],
            "shipping_method": event.shipping_method,
            "lines": [{"sku": line.sku, "quantity": line.quantity} for line in event.lines],
            "carrier": None,
            "tracking_number": None,
            # ISO dates compare as strings, which is all the late queue needs.
            "promised_delivery_by": event.promised_delivery_by.isoformat(),
            "requested_at": _iso(event.requested_at),
            "updated_at": _iso(event.timestamp),
            "delivered_at": None,
            "delivered_late": None,
            "carrier_location": None,
            "carrier_detail": None,
            "version": version,
        }
    if summary is None or int(summary["version"]) >= version:
        return None
    changed = {**summary, "version": version, "updated_at": _iso(event.timestamp)}
    changed.update(_changes(event))
    changed["next_step"] = NEXT_STEP.get(changed["status"])
    return changed


def _changes(event: Any) -> Document:
    match event:
        case Shipment.Picked():
            return {"status": PICKED}
        case Shipment.Packed():
            return {"status": PACKED}
        case Shipment.Dispatched():
            return {"status": "dispatched", "carrier": event.carrier, "tracking_number": event.tracking_number}
        case Shipment.TrackingRecorded() if event.applied:
            # Only an applied update is the current status; the others are history (GET /shipments/{id}).
            return {"status": event.status, "carrier_location": event.location, "carrier_detail": event.detail}
        case Shipment.Delivered():
            return {"delivered_at": _iso(event.delivered_at), "delivered_late": event.late}
        case Shipment.Cancelled():
            return {"status": CANCELLED}
    return {}


def is_open(summary: Document) -> bool:
    return summary["status"] not in CLOSED_STATUSES


def public(document: Document) -> Document:
    """A stored summary as the API shows it."""
    return {key: value for key, value in document.items() if key != "_id"}


class ShipmentReadModel:
    def __init__(self, summaries: AsyncCollection[Document], open_shipments: AsyncCollection[Document]) -> None:
        self.summaries = summaries
        self.open_shipments = open_shipments

    async def apply(self, event: Any) -> None:
        if not isinstance(event, Shipment.Event):
            return  # index and inbox events: nothing to show
        shipment_id: str = getattr(event, "shipment_id")  # every Shipment event carries it  # noqa: B009
        current = await self.summaries.find_one({"_id": shipment_id})
        summary = fold(current, event)
        if summary is None:
            if current is not None and int(event.originator_version) <= int(current["version"]):
                # A replayed tail: a crash may have come between the summary's write and the queue's.
                await self._sync_queue(current)
            return
        if current is None:
            try:
                await self.summaries.insert_one(summary)
            except DuplicateKeyError:
                return  # another runner got there first
        else:
            replaced = await self.summaries.replace_one({"_id": summary["_id"], "version": current["version"]}, summary)
            if replaced.matched_count == 0:
                return  # another runner moved it on
        await self._sync_queue(summary)

    async def _sync_queue(self, summary: Document) -> None:
        """`open_shipments` holds exactly the summaries of shipments still open (idempotent)."""
        if is_open(summary):
            await self.open_shipments.replace_one({"_id": summary["_id"]}, summary, upsert=True)
        else:
            await self.open_shipments.delete_one({"_id": summary["_id"]})

    async def shipments(
        self,
        status: str | None = None,
        warehouse: str | None = None,
        carrier: str | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> Document:
        query = {
            key: value for key, value in (("status", status), ("warehouse", warehouse), ("carrier", carrier)) if value
        }
        return await _page(self.summaries, query, [("requested_at", 1), ("_id", 1)], page, page_size)

    async def late(self, today: date, page: int = 1, page_size: int = 50) -> Document:
        """Promised before `today`, not delivered, not cancelled: the longest overdue first."""
        query = {"promised_delivery_by": {"$lt": today.isoformat()}}
        return await _page(self.open_shipments, query, [("promised_delivery_by", 1), ("_id", 1)], page, page_size)

    async def exceptions(self, page: int = 1, page_size: int = 50) -> Document:
        """Shipments whose current carrier status needs a person: the longest waiting first."""
        query = {"status": {"$in": list(EXCEPTION_STATUSES)}}
        return await _page(self.open_shipments, query, [("updated_at", 1), ("_id", 1)], page, page_size)

    async def warehouse_queue(self, warehouse: str, limit: int = 500) -> dict[str, list[Document]]:
        """What `warehouse` has to pick, pack and dispatch, each group by promised date."""
        query = {"warehouse": warehouse, "status": {"$in": list(NEXT_STEP)}}
        cursor = self.open_shipments.find(query).sort([("promised_delivery_by", 1), ("_id", 1)]).limit(limit)
        queue: dict[str, list[Document]] = {step: [] for step in WAREHOUSE_STEPS}
        async for document in cursor:
            queue[NEXT_STEP[document["status"]]].append(public(document))
        return queue


async def _page(
    collection: AsyncCollection[Document], query: Document, sort: list[tuple[str, int]], page: int, page_size: int
) -> Document:
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    page = max(1, page)
    total = await collection.count_documents(query)
    cursor = collection.find(query).sort(sort).skip((page - 1) * page_size).limit(page_size)
    items = [public(document) async for document in cursor]
    return {"items": items, "page": page, "page_size": page_size, "total": total}
