"""Where the reporting read model lives in MongoDB, per generation `g<n>` (a rebuild writes a new one):

- `<gen>_factlog_p<pp>`: the facts of partition pp (per order, and per stock item `stock:<sku>@<wh>`) as a log:
  each batch appends one entry with the facts it changed; a snapshot appends every fact (in entries of
  FACTS_PER_ENTRY) and moves the partition's base (`<gen>_factbases`) to its first entry, then drops what is
  before. Loading reads the entries from the base on, the last one of a fact winning. Appending is one insert per
  batch, where one update per changed order would cost a write each (FerretDB: ~2 ms, and a few hundred a second);
- `<gen>_buckets`: one document per partition and UTC day (`<day>|p<pp>`): the day's counters, and the first and
  last time at which any of them changed (`first`, `last`: a figure as of a time between them needs the rows);
- `<gen>_members`: the same `_id`s: per order that contributed to the day, its layers on that day (what it added
  at each event time): the drill-down's rows, and the figures as of a time between `first` and `last`;
- `<gen>_levels`: the same `_id`s: per stock item, the day's stock levels (stock figures as of a time that day);
- `<gen>_states`: per partition, stock figures per sku x warehouse and what needs attention now;
- `<gen>_heads`: per partition, a version per day, so readers re-read only the days that changed.
`meta` names the active generation; `reports` holds the digests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
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


# Per order, its layers on the day: lists where the model builds them, tuples where a reader keeps them (a list is
# always tracked by the garbage collector; a tuple of a string and a dict of numbers is untracked at its first
# collection, and a replica keeps hundreds of days' rows of ~300 orders each).
Rows = Mapping[str, Sequence[tuple[str, dict[str, int]]]]


def bucket_document(day: str, partition: int, version: int, counters: dict[str, int], rows: Rows) -> dict[str, Any]:
    general = {k: v for k, v in counters.items() if not k.startswith(CUSTOMER_PREFIX)}
    customers = {k: v for k, v in counters.items() if k.startswith(CUSTOMER_PREFIX)}
    times = [at for layers in rows.values() for at, _ in layers]
    return {
        "_id": bucket_id(day, partition),
        "v": version,
        "first": min(times, default=""),
        "last": max(times, default=""),
        "blob": pack(general),
        "cust": pack(customers),
    }


def members_document(day: str, partition: int, version: int, rows: Rows) -> dict[str, Any]:
    return {"_id": bucket_id(day, partition), "v": version, "blob": pack(rows)}


@dataclass(frozen=True)
class Bucket:
    version: int
    general: dict[str, int]
    customers: dict[str, int]
    # The first and last time any of the day's counters changed; a bucket stored before layers were kept has
    # neither and is read as changing at every time (its rows are read, the next owner rewrites it).
    first: str = ""
    last: str = "~"

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
        kinds = [f"{generation}_{kind}" for kind in ("buckets", "members", "levels", "states", "heads", "factbases")]
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
        days: dict[str, tuple[int, dict[str, int], Rows]],
        levels: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Per day: its bucket and its rows (the same version), and the stock levels of days that got one."""
        writes = []
        for day, (version, counters, rows) in days.items():
            _id = {"_id": bucket_id(day, partition)}
            document = bucket_document(day, partition, version, counters, rows)
            writes.append(self.database[f"{generation}_buckets"].replace_one(_id, document, upsert=True))
            members = members_document(day, partition, version, rows)
            writes.append(self.database[f"{generation}_members"].replace_one(_id, members, upsert=True))
        for day, found in (levels or {}).items():
            _id = {"_id": bucket_id(day, partition)}
            document = {**_id, "blob": pack(found)}
            writes.append(self.database[f"{generation}_levels"].replace_one(_id, document, upsert=True))
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
        return Bucket(
            int(found["v"]),
            unpack(found["blob"]),
            unpack(found["cust"]) if "cust" in found else {},
            str(found.get("first", "")),
            str(found.get("last", "~")),
        )

    async def stored_buckets(self, generation: str, partition: int) -> dict[str, tuple[int, dict[str, int]]]:
        """Per day, the version and counters of the partition's stored buckets; version 0 for one stored before
        layers were kept (so that it counts as differing)."""
        suffix = "|" + partition_name(partition)
        return {
            d["_id"].split("|")[0]: (
                int(d["v"]) if "first" in d else 0,
                {**unpack(d["blob"]), **(unpack(d["cust"]) if "cust" in d else {})} if "first" in d else {"-": 0},
            )
            async for d in self.database[f"{generation}_buckets"].find({})
            if d["_id"].endswith(suffix)
        }

    async def rows(self, generation: str, day: str, partition: int) -> tuple[int, Rows]:
        """The version and the rows of one day of a partition (no document: version 0, no rows)."""
        found = await self.database[f"{generation}_members"].find_one({"_id": bucket_id(day, partition)})
        if found is None or "v" not in found:
            return 0, {}
        return int(found["v"]), {
            order_id: tuple((at, c) for at, c in layers) for order_id, layers in unpack(found["blob"]).items()
        }

    async def levels(self, generation: str, day: str, partition: int) -> dict[str, list[list[Any]]]:
        found = await self.database[f"{generation}_levels"].find_one({"_id": bucket_id(day, partition)})
        return {} if found is None else dict(unpack(found["blob"]))

    async def state(self, generation: str, partition: int) -> tuple[int, dict[str, Any]]:
        found = await self.database[f"{generation}_states"].find_one({"_id": partition_name(partition)})
        return (0, {"stock": {}, "attention": {}}) if found is None else (int(found["v"]), unpack(found["blob"]))
