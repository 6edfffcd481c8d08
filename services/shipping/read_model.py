"""The logistics read model: one summary document per shipment, folded from the shipping event log.

Event-sourced shipments cannot be listed by status, so a `ProjectionRunner` (shared/projections.py), run by
the process that owns the shipping log, feeds batches of the log's events to `ShipmentProjection`, which keeps
two collections:
- `shipment_summaries`: every shipment, for `GET /shipments?status=&warehouse=&carrier=`;
- `open_shipments`: the same documents for shipments not delivered and not cancelled. FerretDB v1 filters
  only `_id` in the database and scans everything else, so the work queues (late, exceptions, warehouse)
  scan this small, bounded set instead of every shipment ever made;
- `waiting_messages`: the keys that messages wait for (early_arrivals.py), with since when, for the expiry
  and `GET /shipments/waiting`.

Idempotent: each summary carries the shipment's `version` and an event at or below it is skipped, so a
replayed batch changes nothing. A batch costs three writes (queue in, queue out, summaries), whatever its size.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

from pymongo.asynchronous.collection import AsyncCollection

from services.shipping.domain.early_arrivals import EarlyArrivals
from services.shipping.domain.shipment import CANCELLED, DELIVERED, PACKED, PICKED, REQUESTED, Shipment
from shared.batched_writes import delete_all, replace_all, update_all

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


class SummaryStore(Protocol):
    """Where the summaries and the open-shipment queue live (MongoDB in the service)."""

    async def load(self, shipment_ids: Sequence[str]) -> dict[str, Document]:
        """The stored summaries of those of `shipment_ids` that have one."""

    async def save(self, summaries: Sequence[Document], still_open: Sequence[Document], closed: Sequence[str]) -> None:
        """Write the queue (`still_open` in it, `closed` out of it), then the summaries."""

    async def index_waiting(self, changes: Mapping[str, WaitingChange]) -> None:
        """Apply the batch's changes to the index of keys with messages waiting (early_arrivals.py)."""


# What a batch did to a key's entry in the waiting index: ("earliest", t) lowers its `since` to t (creating the
# entry), ("since", t) sets it, ("since", None) removes the entry (nothing waits any more).
WaitingChange = tuple[str, datetime | None]


def waiting_changes(events: Sequence[Any]) -> dict[str, WaitingChange]:
    changes: dict[str, WaitingChange] = {}
    for event in events:
        match event:
            case EarlyArrivals.Parked():
                arrived = event.message.parked_at or event.timestamp
                op, since = changes.get(event.key, ("earliest", None))
                changes[event.key] = (op, arrived if since is None else min(since, arrived))
            case EarlyArrivals.Released():
                changes[event.key] = ("since", None)
            case EarlyArrivals.Expired():
                changes[event.key] = ("since", event.waiting_since)
    return changes


class ShipmentProjection:
    """Folds batches of the log's events into summaries, for the one process that owns the log.

    Being the only writer, it keeps the summaries it wrote in memory (a bounded set: closed shipments leave it)
    and reads the store only for a shipment it does not hold. Writes are keyed by `_id` alone: FerretDB v1
    evaluates any other filter by decoding the whole collection, which made every versioned write O(shipments).

    Repeating a batch is harmless: an event at or below a summary's version changes nothing. Only a batch the
    runner marks `replaying` can repeat what was applied, so only then is a shipment created in the batch looked
    up before it is written.
    """

    def __init__(self, store: SummaryStore, remember: int = 20_000) -> None:
        self.store = store
        self.remember = remember
        self._known: OrderedDict[str, Document] = OrderedDict()

    def reset(self) -> None:
        """Reading the log again from its saved position (a start, a new owner, a retry): trust nothing held."""
        self._known.clear()

    async def apply_batch(self, events: Sequence[Any], replaying: bool) -> None:
        waiting = waiting_changes(events)
        if waiting:
            await self.store.index_waiting(waiting)
        shipment_events = [e for e in events if isinstance(e, Shipment.Event)]
        if not shipment_events:
            return
        current = await self._current(shipment_events, replaying)
        changed: dict[str, Document] = {}
        replayed: set[str] = set()
        for event in shipment_events:
            shipment_id = _shipment_id(event)
            summary = fold(changed.get(shipment_id) or current.get(shipment_id), event)
            if summary is not None:
                changed[shipment_id] = summary
            elif shipment_id in current:
                replayed.add(shipment_id)  # a crash may have come between the queue's write and the summary's
        queued = [*changed.values(), *(current[i] for i in replayed - changed.keys())]
        await self.store.save(
            list(changed.values()),
            [summary for summary in queued if is_open(summary)],
            [summary["_id"] for summary in queued if not is_open(summary)],
        )
        self._remember(changed.values())

    async def _current(self, events: Sequence[Any], replaying: bool) -> dict[str, Document]:
        first: dict[str, Any] = {}
        for event in events:
            first.setdefault(_shipment_id(event), event)
        held = {i: self._known[i] for i in first if i in self._known}
        missing = [
            i for i, event in first.items()
            if i not in held and (replaying or not isinstance(event, Shipment.Created))
        ]  # fmt: skip
        return {**held, **(await self.store.load(missing) if missing else {})}

    def _remember(self, summaries: Iterable[Document]) -> None:
        for summary in summaries:
            shipment_id = summary["_id"]
            if is_open(summary):
                self._known[shipment_id] = summary
                self._known.move_to_end(shipment_id)
            else:
                self._known.pop(shipment_id, None)
        while len(self._known) > self.remember:
            self._known.popitem(last=False)


def _shipment_id(event: Any) -> str:
    shipment_id: str = getattr(event, "shipment_id")  # every Shipment event carries it  # noqa: B009
    return shipment_id


class ShipmentReadModel:
    """The collections: written by the projection, read by the logistics API (any replica)."""

    def __init__(
        self,
        summaries: AsyncCollection[Document],
        open_shipments: AsyncCollection[Document],
        waiting: AsyncCollection[Document],
    ) -> None:
        self.summaries = summaries
        self.open_shipments = open_shipments
        self.waiting = waiting

    async def load(self, shipment_ids: Sequence[str]) -> dict[str, Document]:
        # One `_id` lookup each, concurrently: `_id` equality is the only filter FerretDB serves from its index.
        found = await asyncio.gather(*(self.summaries.find_one({"_id": i}) for i in shipment_ids))
        return {document["_id"]: document for document in found if document is not None}

    async def save(self, summaries: Sequence[Document], still_open: Sequence[Document], closed: Sequence[str]) -> None:
        await replace_all(self.open_shipments, still_open)
        await delete_all(self.open_shipments, closed)
        await replace_all(self.summaries, summaries)

    async def index_waiting(self, changes: Mapping[str, WaitingChange]) -> None:
        updates = [
            {"q": {"_id": key}, "u": {"$min" if op == "earliest" else "$set": {"since": since}}, "upsert": True}
            for key, (op, since) in changes.items()
            if since is not None
        ]
        if updates:
            await update_all(self.waiting, updates)
        await delete_all(self.waiting, [key for key, (_, since) in changes.items() if since is None])

    async def waiting_longer_than(self, cutoff: datetime) -> list[str]:
        """Keys with a message waiting since `cutoff` or before (the index is small: scanning it is fine)."""
        return [document["_id"] async for document in self.waiting.find({"since": {"$lte": cutoff}})]

    async def waiting_keys(self, limit: int = 500) -> list[Document]:
        """What waits, the longest first: `{"key", "since"}`."""
        cursor = self.waiting.find({}).sort([("since", 1), ("_id", 1)]).limit(limit)
        return [{"key": document["_id"], "since": document["since"]} async for document in cursor]

    async def count_waiting(self) -> int:
        return await self.waiting.count_documents({})

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
