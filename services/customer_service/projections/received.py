"""The received-events log: every event the projections consumed, in arrival order, in this service's database.

`_id` is a sequence number from a counter document, stored as a zero-padded string (FerretDB pushes string
`_id` lookups down to SQLite but scans for integer ones). A point-in-time replay fetches an order's events by
`_id` point lookups (the order's history keeps its sequence numbers), and a rebuild reads the log in one pass.
The log is at-least-once (a crash between appending and projecting appends the redelivered event again, under
a new number); the projection is exactly-once by event id, so a duplicate in the log has no effect on a replay.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.customer_service.projections.events import ReceivedEvent, log_id
from services.customer_service.projections.personal import PersonalDocuments

LOG = "received_events"
COUNTERS = "received_counters"
# Earlier versions split the log by order id over 64 collections `received_events_000`…`_063` (FerretDB then
# scanned a collection for `_id` lookups; the local store's `_id` index, deploy/local/ferretdb/idindex.go, ended
# that): one insert per shard a batch touched, nearly one per order. The log is now one collection; the shards an
# earlier version wrote are still read (an order's events, a rebuild), never written.
LEGACY_SHARDS = 64


def legacy_shard_of(order_id: str) -> str:
    return legacy_shard(zlib.crc32(order_id.encode()) % LEGACY_SHARDS)


def legacy_shard(index: int) -> str:
    return f"{LOG}_{index:03d}"


class ReceivedLog:
    def __init__(self, database: AsyncDatabase[dict[str, Any]], personal: PersonalDocuments | None = None) -> None:
        self.database = database
        self.counters = database[COUNTERS]
        self.events = database[LOG]
        self._legacy: list[str] | None = None  # the earlier version's shards present in this database
        self._counter_lock = asyncio.Lock()
        # Seals the customer and address of each event as it is stored (None: plain, for tests of the log alone).
        self.personal = personal

    async def _documents(self, events: list[ReceivedEvent], received_at: datetime) -> list[dict[str, Any]]:
        documents = [event.to_document(received_at) for event in events]
        personal = self.personal
        if personal is None:
            return documents

        def seal() -> list[dict[str, Any]]:
            personal.prepare(document["data"] for document in documents)
            return [{**document, "data": personal.seal_parts(document["data"])} for document in documents]

        return await asyncio.to_thread(seal)

    async def _events(self, documents: list[dict[str, Any]]) -> list[ReceivedEvent]:
        personal = self.personal
        if personal is None:
            return [ReceivedEvent.from_document(document) for document in documents]

        def open_() -> list[ReceivedEvent]:
            return [
                ReceivedEvent.from_document({**document, "data": personal.open_parts(document["data"])})
                for document in documents
            ]

        return await asyncio.to_thread(open_)

    async def append(self, event: ReceivedEvent) -> ReceivedEvent:
        while True:
            numbered = event.with_seq(await self.next_seq())
            (document,) = await self._documents([numbered], datetime.now(UTC))
            try:
                await self.events.insert_one(document)
            except DuplicateKeyError:
                continue  # another replica drew the same number (FerretDB's $inc is not atomic across them)
            return numbered

    async def next_seq(self, count: int = 1) -> int:
        """Reserves `count` numbers; returns the first. Serialised in the process: FerretDB v1 runs
        findAndModify as a read and a write, so concurrent increments could hand out one number twice."""
        async with self._counter_lock:
            counter = await self.counters.find_one_and_update(
                {"_id": LOG}, {"$inc": {"seq": count}}, upsert=True, return_document=ReturnDocument.AFTER
            )
        assert counter is not None
        return int(counter["seq"]) - count + 1

    async def append_many(self, events: list[ReceivedEvent]) -> list[ReceivedEvent]:
        """For loading (the benchmark): one counter round trip and one insert for many events."""
        if not events:
            return []
        first = await self.next_seq(len(events))
        numbered = [event.with_seq(first + index) for index, event in enumerate(events)]
        await self.events.insert_many(await self._documents(numbered, datetime.now(UTC)), ordered=False)
        return numbered

    async def legacy_shards(self) -> list[str]:
        """The shards an earlier version wrote (read once: nothing creates them any more)."""
        if self._legacy is None:
            names = set(await self.database.list_collection_names())
            self._legacy = [legacy_shard(i) for i in range(LEGACY_SHARDS) if legacy_shard(i) in names]
        return self._legacy

    async def _collections(self) -> list[str]:
        return [LOG, *await self.legacy_shards()]

    async def total(self) -> int:
        counts = await asyncio.gather(
            *(self.database[name].estimated_document_count() for name in await self._collections())
        )
        return sum(counts)

    async def head(self) -> int:
        counter = await self.counters.find_one({"_id": LOG})
        return 0 if counter is None else int(counter["seq"])

    async def scan(self, after: int = 0) -> AsyncIterator[ReceivedEvent]:
        """Every event with a number above `after`, in number order.

        One pass over the collection: FerretDB would scan it whole for any range filter anyway, and paging by
        `_id > n` would scan it once per page. Sorting in Python keeps FerretDB from buffering the sort.
        """
        query = {"_id": {"$gt": log_id(after)}} if after else {}
        documents = [
            document
            for name in await self._collections()
            async for document in self.database[name].find(query, batch_size=5000)
        ]
        documents.sort(key=lambda document: int(document["_id"]))
        for start in range(0, len(documents), 5000):
            for event in await self._events(documents[start : start + 5000]):
                yield event

    async def by_seqs(self, order_id: str, seqs: Iterable[int]) -> list[ReceivedEvent]:
        """An order's events by `_id` lookups (in the earlier version's shard for those not in the log), in number
        order."""
        wanted = list(seqs)
        found = [d for d in await _find_ids(self.events, wanted) if d is not None]
        missing = sorted(set(wanted) - {int(d["_id"]) for d in found})
        if missing and legacy_shard_of(order_id) in await self.legacy_shards():
            legacy = await _find_ids(self.database[legacy_shard_of(order_id)], missing)
            found.extend(d for d in legacy if d is not None)
        return sorted(await self._events(found), key=lambda e: e.seq)


async def _find_ids(collection: Any, seqs: list[int]) -> list[dict[str, Any] | None]:
    return list(await asyncio.gather(*(collection.find_one({"_id": log_id(seq)}) for seq in seqs)))
