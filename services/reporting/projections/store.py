"""Where the reporting read model lives in MongoDB, per generation `g<n>` (a rebuild writes a new one):

- `<gen>_facts_p<pp>_<s>`: one document per order (`_id` order id) or stock item (`stock:<sku>@<wh>`) of
  partition pp, spread over FACT_SHARDS collections (an update scans its collection on FerretDB);
- `<gen>_buckets`: one document per partition and UTC day (`<day>|p<pp>`): the day's counters;
- `<gen>_members`: the same `_id`s: the ids of the orders that contributed to the day (for drill-downs);
- `<gen>_states`: per partition, stock figures per sku x warehouse and what needs attention now;
- `<gen>_heads`: per partition, a version per day, so readers re-read only the days that changed.
`meta` names the active generation; `reports` holds the digests.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.reporting.projections.blobs import pack, unpack
from shared.store_collections import create_collection

META = "meta"
REPORTS = "reports"
REBUILDS = "rebuilds"
FIRST_GENERATION = "g0"
FACT_SHARDS = 4


@dataclass(frozen=True)
class Head:
    """A partition's latest version, the version of each day's bucket, and of its state."""

    version: int
    days: dict[str, int]
    state_version: int


def partition_name(partition: int) -> str:
    return f"p{partition:02d}"


def bucket_id(day: str, partition: int) -> str:
    return f"{day}|{partition_name(partition)}"


# Per-customer counters (one pair per customer and day) outnumber all others together; only the customer KPIs
# read them, so they are a blob of their own and the other queries never decode them.
CUSTOMER_PREFIX = "cust|"


def bucket_document(day: str, partition: int, version: int, counters: dict[str, int]) -> dict[str, Any]:
    general = {k: v for k, v in counters.items() if not k.startswith(CUSTOMER_PREFIX)}
    customers = {k: v for k, v in counters.items() if k.startswith(CUSTOMER_PREFIX)}
    return {"_id": bucket_id(day, partition), "v": version, "blob": pack(general), "cust": pack(customers)}


@dataclass(frozen=True)
class Bucket:
    version: int
    general: dict[str, int]
    customers: dict[str, int]

    def counters(self) -> dict[str, int]:
        return {**self.general, **self.customers}


class ReportingStore:
    def __init__(self, database: AsyncDatabase[dict[str, Any]], partitions: int) -> None:
        self.database = database
        self.partitions = partitions

    # Generations.

    async def active_generation(self) -> str:
        found = await self.database[META].find_one({"_id": "active"})
        return FIRST_GENERATION if found is None else str(found["generation"])

    async def new_generation(self) -> str:
        from pymongo import ReturnDocument

        counter = await self.database[META].find_one_and_update(
            {"_id": "generations"}, {"$inc": {"last": 1}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        assert counter is not None
        return f"g{int(counter['last'])}"

    def collection_names(self, generation: str) -> list[str]:
        facts = [
            f"{generation}_facts_{partition_name(p)}_{s}" for p in range(self.partitions) for s in range(FACT_SHARDS)
        ]
        kinds = [f"{generation}_{kind}" for kind in ("buckets", "members", "states", "heads")]
        return [META, REPORTS, REBUILDS, *kinds, *facts]

    async def create_collections(self, generation: str | None = None) -> None:
        existing = set(await self.database.list_collection_names())
        for name in self.collection_names(generation or await self.active_generation()):
            if name not in existing:
                await create_collection(self.database, name)

    # Facts.

    def facts(self, generation: str, partition: int, fact_id: str) -> Any:
        shard = zlib.crc32(fact_id.encode()) % FACT_SHARDS
        return self.database[f"{generation}_facts_{partition_name(partition)}_{shard}"]

    async def load_facts(self, generation: str, partition: int) -> dict[str, Any]:
        async def shard(s: int) -> list[dict[str, Any]]:
            collection = self.database[f"{generation}_facts_{partition_name(partition)}_{s}"]
            return [document async for document in collection.find({}, batch_size=2000)]

        found = await asyncio.gather(*(shard(s) for s in range(FACT_SHARDS)))
        return {document["_id"]: unpack(document["blob"]) for documents in found for document in documents}

    async def fact(self, generation: str, partition: int, fact_id: str) -> Any:
        found = await self.facts(generation, partition, fact_id).find_one({"_id": fact_id})
        return None if found is None else unpack(found["blob"])

    async def save_facts(self, generation: str, partition: int, facts: dict[str, Any]) -> None:
        await asyncio.gather(
            *(
                self.facts(generation, partition, fact_id).replace_one(
                    {"_id": fact_id}, {"_id": fact_id, "blob": pack(fact)}, upsert=True
                )
                for fact_id, fact in facts.items()
            )
        )

    # Buckets, members, states, heads.

    async def save_days(
        self,
        generation: str,
        partition: int,
        buckets: dict[str, tuple[int, dict[str, int]]],
        members: dict[str, list[str]],
    ) -> None:
        writes = [
            self.database[f"{generation}_buckets"].replace_one(
                {"_id": bucket_id(day, partition)}, bucket_document(day, partition, version, counters), upsert=True
            )
            for day, (version, counters) in buckets.items()
        ]
        writes += [
            self.database[f"{generation}_members"].replace_one(
                {"_id": bucket_id(day, partition)}, {"_id": bucket_id(day, partition), "blob": pack(ids)}, upsert=True
            )
            for day, ids in members.items()
        ]
        await asyncio.gather(*writes)

    async def save_head(
        self,
        generation: str,
        partition: int,
        version: int,
        days: dict[str, int],
        state: dict[str, Any] | None,
        state_version: int,
    ) -> None:
        """The state first, then the head that announces it: a reader never sees a version without its data."""
        name = partition_name(partition)
        if state is not None:
            await self.database[f"{generation}_states"].replace_one(
                {"_id": name}, {"_id": name, "v": state_version, "blob": pack(state)}, upsert=True
            )
        await self.database[f"{generation}_heads"].replace_one(
            {"_id": name}, {"_id": name, "v": version, "sv": state_version, "blob": pack(days)}, upsert=True
        )

    async def heads(self, generation: str) -> dict[int, Head]:
        found = [document async for document in self.database[f"{generation}_heads"].find({})]
        return {int(d["_id"][1:]): Head(int(d["v"]), unpack(d["blob"]), int(d.get("sv", 0))) for d in found}

    async def head(self, generation: str, partition: int) -> Head | None:
        found = await self.database[f"{generation}_heads"].find_one({"_id": partition_name(partition)})
        return None if found is None else Head(int(found["v"]), unpack(found["blob"]), int(found.get("sv", 0)))

    async def bucket(self, generation: str, day: str, partition: int) -> Bucket:
        found = await self.database[f"{generation}_buckets"].find_one({"_id": bucket_id(day, partition)})
        if found is None:
            return Bucket(0, {}, {})
        return Bucket(int(found["v"]), unpack(found["blob"]), unpack(found["cust"]) if "cust" in found else {})

    async def stored_buckets(self, generation: str, partition: int) -> dict[str, tuple[int, dict[str, int]]]:
        suffix = "|" + partition_name(partition)
        return {
            d["_id"].split("|")[0]: (int(d["v"]), {**unpack(d["blob"]), **(unpack(d["cust"]) if "cust" in d else {})})
            async for d in self.database[f"{generation}_buckets"].find({})
            if d["_id"].endswith(suffix)
        }

    async def members(self, generation: str, days: Iterable[str], partition: int) -> list[str]:
        found = await asyncio.gather(
            *(self.database[f"{generation}_members"].find_one({"_id": bucket_id(day, partition)}) for day in days)
        )
        return [order_id for document in found if document is not None for order_id in unpack(document["blob"])]

    async def state(self, generation: str, partition: int) -> tuple[int, dict[str, Any]]:
        found = await self.database[f"{generation}_states"].find_one({"_id": partition_name(partition)})
        return (0, {"stock": {}, "attention": {}}) if found is None else (int(found["v"]), unpack(found["blob"]))
