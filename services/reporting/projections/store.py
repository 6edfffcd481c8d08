"""Where the reporting read model lives in MongoDB, per generation `g<n>` (a rebuild writes a new one):

- `<gen>_factlog_p<pp>`: the facts of partition pp (per order, and per stock item `stock:<sku>@<wh>`) as a log:
  each batch appends one entry with the facts it changed; a snapshot appends every fact (in entries of
  FACTS_PER_ENTRY) and moves the partition's base (`<gen>_factbases`) to its first entry, then drops what is
  before. Loading reads the entries from the base on, the last one of a fact winning. Appending is one insert per
  batch, where one update per changed order would cost a write each (FerretDB: ~2 ms, and a few hundred a second);
- `<gen>_buckets`: one document per partition and UTC day (`<day>|p<pp>`): the day's counters;
- `<gen>_members`: the same `_id`s: the ids of the orders that contributed to the day (for drill-downs);
- `<gen>_states`: per partition, stock figures per sku x warehouse and what needs attention now;
- `<gen>_heads`: per partition, a version per day, so readers re-read only the days that changed.
`meta` names the active generation; `reports` holds the digests.
"""

from __future__ import annotations

import asyncio
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
FACTS_PER_ENTRY = 1000


@dataclass(frozen=True)
class Head:
    """A partition's latest version, the version of each day's bucket, and of its state."""

    version: int
    days: dict[str, int]
    state_version: int


def entry_id(number: int) -> str:
    """Zero-padded: FerretDB pushes string `_id`s down to SQLite, and string order is then number order."""
    return f"{number:012d}"


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
        facts = [f"{generation}_factlog_{partition_name(p)}" for p in range(self.partitions)]
        kinds = [f"{generation}_{kind}" for kind in ("buckets", "members", "states", "heads", "factbases")]
        return [META, REPORTS, REBUILDS, *kinds, *facts]

    async def create_collections(self, generation: str | None = None) -> None:
        existing = set(await self.database.list_collection_names())
        for name in self.collection_names(generation or await self.active_generation()):
            if name not in existing:
                await create_collection(self.database, name)

    # Facts.

    def fact_log(self, generation: str, partition: int) -> Any:
        return self.database[f"{generation}_factlog_{partition_name(partition)}"]

    async def load_facts(self, generation: str, partition: int) -> tuple[dict[str, Any], int]:
        """Every fact of the partition, and the last entry number of its log (0 when empty)."""
        name = partition_name(partition)
        found = await self.database[f"{generation}_factbases"].find_one({"_id": name})
        base = 1 if found is None else int(found["base"])
        entries = [e async for e in self.fact_log(generation, partition).find({"_id": {"$gte": entry_id(base)}})]
        entries.sort(key=lambda e: str(e["_id"]))
        facts: dict[str, Any] = {}
        for entry in entries:
            facts.update(unpack(entry["blob"]))
        last = int(entries[-1]["_id"]) if entries else base - 1
        return facts, last

    async def append_facts(self, generation: str, partition: int, number: int, facts: dict[str, Any]) -> None:
        """One entry; a second writer of the same number (an owner that has not let go) fails on the key."""
        await self.fact_log(generation, partition).insert_one({"_id": entry_id(number), "blob": pack(facts)})

    async def write_snapshot(self, generation: str, partition: int, facts: dict[str, Any], first: int) -> int:
        """Every fact from entry `first` on, then the base moves there and older entries go; returns the next number.
        A crash in between leaves the old base: loading then reads the snapshot's entries too, which is harmless."""
        items = sorted(facts.items())
        chunks = [dict(items[i : i + FACTS_PER_ENTRY]) for i in range(0, len(items), FACTS_PER_ENTRY)] or [{}]
        log = self.fact_log(generation, partition)
        await log.insert_many(
            [{"_id": entry_id(first + n), "blob": pack(chunk)} for n, chunk in enumerate(chunks)], ordered=True
        )
        name = partition_name(partition)
        await self.database[f"{generation}_factbases"].replace_one(
            {"_id": name}, {"_id": name, "base": first}, upsert=True
        )
        await log.delete_many({"_id": {"$lt": entry_id(first)}})
        return first + len(chunks)

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
