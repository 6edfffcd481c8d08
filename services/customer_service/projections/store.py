"""The read models in MongoDB: order histories, per-order summaries and lookup documents, in a generation.

A generation is a set of collections (`<gen>_histories_<shard>`, `<gen>_summaries_<shard>`,
`<gen>_lookups_<shard>`); the `projection_meta` document `active` names the one served and written. A rebuild
fills a fresh generation and then makes it active, so readers never see a half-built model.

Shards: generations named `g<n>` (made by earlier versions) spread each read model over SHARDS (64) collections by
a stable hash of its `_id`, because FerretDB v1 then scanned a whole collection for an update by `_id` (17 ms on 10
documents, 300 ms on 2,000). The local store's `_id` index (deploy/local/ferretdb/idindex.go) ended that
(`replace_one` by `_id` 1.35 ms at 20,000 documents, 0.92 ms at 20), and MongoDB never had it, while shards cost a
write per shard a batch touches — about one per order. Generations named `u<n>` (every new one) have one
collection per read model (shard `000`), so a batch's documents of one kind are one write. `g<n>` ones are read and
written as they were until a rebuild replaces them.

Two processes can fold one order at the same time: an owner, and a process that has not noticed yet that it
lost the partition (its group session expired under load). On MongoDB the replace is conditional on the version
read. FerretDB v1 evaluates an update's filter and writes the result in separate steps (no transactions), so
there a writer first claims the version it replaces (`CLAIMS`: an insert of a unique `_id`, atomic); within
the process, writes to one order are serialised by a lock (striped by order id).
"""

from __future__ import annotations

import asyncio
import copy
import re
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.customer_service.projections.events import ReceivedEvent
from services.customer_service.projections.history import History, apply, new_history, opens
from services.customer_service.projections.locks import StripedLocks
from services.customer_service.projections.lookups import Lookups
from services.customer_service.projections.personal import PersonalDocuments
from services.customer_service.projections.received import COUNTERS, LOG, ReceivedLog
from services.customer_service.projections.views import lookup_keys, summary_of
from shared.batched_writes import replace_all, update_all
from shared.contracts.topics import DEFAULT_PARTITIONS
from shared.personal_data import KEYS_COLLECTION, ErasureRaced
from shared.store_collections import create_collection

META = "projection_meta"
# FerretDB's only atomic compare-and-set: inserting an `_id` that may exist. A writer replacing a history at
# version v first inserts `<collection>/<order>@v` here; of two writers that read the same version (an owner
# and a process that has not noticed it lost the partition yet), one gets it and the other reads again.
CLAIMS = "history_claims"
DUPLICATE_KEY = 11000
# How often a writer finds a claimed version still unwritten before it decides the claimer died between its
# claim and its write, and writes without a claim (tries ~50 ms apart).
CLAIM_TRIES = 60
FIRST_GENERATION = "u0"
# The generation an earlier version wrote when none was named active (sharded, see above).
LEGACY_FIRST_GENERATION = "g0"
# Other replicas see a newly activated generation within this time.
GENERATION_TTL_S = 2.0
SHARDS = 64
WRITTEN_CACHE_SIZE = 50_000
KINDS = ("histories", "summaries", "lookups")
# What a search without a key reads of every summary: fields that are never sealed (projections/personal.py).
SCAN_FIELDS = {"status": 1, "placed_at": 1}
GENERATION_COLLECTION = re.compile(rf"^(?P<generation>[gu][0-9]+)_(?:{'|'.join(KINDS)})_[0-9]+$")


def collection_name(generation: str, kind: str, key: str, shards: int = SHARDS) -> str:
    """The collection holding the document `_id` = `key` (a stable hash: every replica and rebuild agrees);
    `shards`: how many a sharded generation has."""
    return f"{generation}_{kind}_{zlib.crc32(key.encode()) % shards_of(generation, shards):03d}"


def shards_of(generation: str, shards: int = SHARDS) -> int:
    """How many collections each read model of `generation` is spread over (`shards` for a sharded one)."""
    return shards if generation.startswith("g") else 1


class ProjectionStore:
    def __init__(
        self,
        database: AsyncDatabase[dict[str, Any]],
        shards: int = SHARDS,
        personal: PersonalDocuments | None = None,
        partitions: int = DEFAULT_PARTITIONS,
    ) -> None:
        self.database = database
        self.shards = shards
        # Search keys → order ids, one writer per document (lookups.py says why): the partitions of the topics.
        self.search_keys = Lookups(partitions)
        # Personal fields are sealed as documents are written and opened as they are read (None: plain, for
        # tests of the projections alone); the histories kept in memory below are plain.
        self.personal = personal
        self.log = ReceivedLog(database, personal)
        self.meta = database[META]
        self._generation: str | None = None
        self._generation_read_at = 0.0
        self._locks = StripedLocks()
        # Histories this process wrote, as written: read back without a round trip while it owns their partition.
        self._written: OrderedDict[tuple[str, str], History] = OrderedDict()
        self._version_filter: bool | None = None

    # Generations.

    async def generation(self) -> str:
        if self._generation is None or time.monotonic() - self._generation_read_at > GENERATION_TTL_S:
            active = await self.meta.find_one({"_id": "active"})
            self._generation = await self._first_generation() if active is None else str(active["generation"])
            self._generation_read_at = time.monotonic()
        return self._generation

    async def _first_generation(self) -> str:
        """No generation named active yet: the one an earlier version filled if it did, else a new-layout one;
        named active at once, so that every replica (and every later version) agrees on it."""
        names = await self.database.list_collection_names()
        legacy = any(name.startswith(f"{LEGACY_FIRST_GENERATION}_") for name in names)
        first = LEGACY_FIRST_GENERATION if legacy else FIRST_GENERATION
        await self.meta.update_one({"_id": "active"}, {"$setOnInsert": {"generation": first}}, upsert=True)
        active = await self.meta.find_one({"_id": "active"})
        return first if active is None else str(active["generation"])

    def shards_of(self, generation: str) -> int:
        return shards_of(generation, self.shards)

    async def new_generation(self) -> str:
        counter = await self.meta.find_one_and_update(
            {"_id": "generations"}, {"$inc": {"last": 1}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        assert counter is not None
        return f"u{int(counter['last'])}"

    async def activate(self, generation: str) -> str | None:
        """Serve and write `generation` from now on; returns the one it replaces."""
        previous = await self.generation()
        await self.meta.update_one({"_id": "active"}, {"$set": {"generation": generation}}, upsert=True)
        self._generation, self._generation_read_at = generation, time.monotonic()
        return previous

    def collection_names(self, generation: str) -> list[str]:
        """Every collection a generation writes, and the received log's: created up front (shared/runtime.py says
        why), since the live path would otherwise create them inside concurrent writes."""
        kinds = [f"{generation}_{kind}_{shard:03d}" for kind in KINDS for shard in range(self.shards_of(generation))]
        return [META, COUNTERS, KEYS_COLLECTION, LOG, *kinds]

    async def create_collections(self, generation: str | None = None) -> None:
        database = self.database
        existing = set(await database.list_collection_names())
        for name in self.collection_names(generation or await self.generation()):
            if name not in existing:
                await create_collection(database, name)

    async def drop_generation(self, generation: str) -> None:
        for kind in KINDS:
            for shard in range(self.shards_of(generation)):
                await self.database.drop_collection(f"{generation}_{kind}_{shard:03d}")

    async def drop_generations_except(self, keep: str) -> list[str]:
        """Drop every generation's collections but `keep`'s (a rebuild's last step); returns the ones dropped."""
        dropped = set()
        for name in await self.database.list_collection_names():
            match = GENERATION_COLLECTION.match(name)
            if match is not None and match["generation"] != keep:
                await self.database.drop_collection(name)
                dropped.add(match["generation"])
        return sorted(dropped)

    def collection(self, generation: str, kind: str, key: str) -> Any:
        return self.database[collection_name(generation, kind, key, self.shards)]

    def histories(self, generation: str, order_id: str) -> Any:
        return self.collection(generation, "histories", order_id)

    def summaries(self, generation: str, order_id: str) -> Any:
        return self.collection(generation, "summaries", order_id)

    def lookups(self, generation: str, key: str) -> Any:
        return self.collection(generation, "lookups", key)

    # The live path.

    async def record_many(self, events: list[ReceivedEvent]) -> None:
        """A batch from the consumer: each order's history read once (or not at all: the process that owns an
        order's partition is its only writer, and keeps what it wrote), one sequence reservation and one insert
        into the log for the whole batch, then one write per collection for the histories and one for the
        summaries (per shard in a sharded generation)."""
        by_order: dict[str, list[ReceivedEvent]] = {}
        for event in events:
            by_order.setdefault(event.order_id, []).append(event)
        await self.notice_erasures()
        generation = await self.generation()
        found = await asyncio.gather(*(self._known(generation, o, any(map(opens, e))) for o, e in by_order.items()))
        stored = dict(zip(by_order, found, strict=True))
        fresh: list[ReceivedEvent] = []
        for order_id, order_events in by_order.items():
            known = stored[order_id]
            applied = set(known["applied"]) if known is not None else set()
            fresh.extend(e for e in order_events if e.event_id not in applied)
        numbered: dict[str, list[ReceivedEvent]] = {}
        for event in await self.log.append_many(_unique_by_id(fresh)):
            numbered.setdefault(event.order_id, []).append(event)
        replaced = {order_id: known["version"] for order_id, known in stored.items() if known and order_id in numbered}
        claimed = await self._claim_many(generation, replaced)
        folded: dict[str, History] = {}
        for order_id, order_events in numbered.items():
            before = stored[order_id]
            history = copy.deepcopy(before) if before is not None else new_history(order_id)
            for event in order_events:
                apply(history, event)
            folded[order_id] = history
        mine = {o: h for o, h in folded.items() if stored[o] is None or o in claimed}
        async with self._locks.all_of(mine):
            saved = await self._save_many(generation, {o: (h, stored[o]) for o, h in mine.items()})
        for order_id in saved:
            self._remember(generation, folded[order_id])
        # Someone else wrote these (a rebuild's swap, an owner that has not let go yet): start from the store.
        lost = sorted(folded.keys() - saved)
        for order_id in lost:
            self._written.pop((generation, order_id), None)
        await asyncio.gather(*(self._record_order(generation, numbered[order_id]) for order_id in lost))
        # Redelivered, with nothing new: make sure the summary and lookups caught up.
        redelivered: list[tuple[History, History | None]] = [
            (history, None)
            for order_id, history in stored.items()
            if history is not None and order_id not in numbered and (generation, order_id) not in self._written
        ]
        await self._index_many(generation, [(folded[o], stored[o]) for o in sorted(saved)] + redelivered)

    async def _known(self, generation: str, order_id: str, opening: bool) -> History | None:
        """The history as this process last wrote it, else as stored. `opening`: the batch opens the order, so
        it is taken to have none (a read saved per order); if one exists after all, its insert fails and
        `record_many` takes the careful path, and an event appended to the log twice is harmless (received.py)."""
        cached = self._written.get((generation, order_id))
        if cached is not None:
            self._written.move_to_end((generation, order_id))
            return cached
        if opening:
            return None
        return await self._opened(await self.histories(generation, order_id).find_one({"_id": order_id}))

    async def _save_many(self, generation: str, folded: dict[str, tuple[History, History | None]]) -> set[str]:
        """Write each history over the version it was folded from (`_save`, for many): new ones in one insert per
        collection, the others (their versions claimed, `_claim_many`) in one bulk replace per collection; returns
        the orders written. A bulk replace that missed any of its documents (one was removed meanwhile) counts as
        written for none of them: the careful path then folds each from the store."""
        if not folded:
            return set()
        order_ids = list(folded)
        sealed = await self.sealed_many("histories", [folded[o][0] for o in order_ids])
        versioned = await self._versioned_writes()
        inserts: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        replaces: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for order_id, document in zip(order_ids, sealed, strict=True):
            before = folded[order_id][1]
            name = self.histories(generation, order_id).name
            if before is None:
                inserts.setdefault(name, []).append((order_id, document))
                continue
            match: dict[str, Any] = {"_id": order_id}
            if versioned:
                match["version"] = before["version"]
            replaces.setdefault(name, []).append((order_id, {"q": match, "u": document}))
        written = await asyncio.gather(
            *(_insert_new(self.database[name], items) for name, items in inserts.items()),
            *(_replace_all(self.database[name], items) for name, items in replaces.items()),
        )
        return {order_id for part in written for order_id in part}

    def _remember(self, generation: str, history: History) -> None:
        self._written[(generation, history["order_id"])] = history
        while len(self._written) > WRITTEN_CACHE_SIZE:
            self._written.popitem(last=False)

    def forget_written(self) -> None:
        """This process may no longer be the only writer of the histories it kept (a partition moved)."""
        self._written.clear()
        self.search_keys.forget()

    async def _record_order(self, generation: str, events: list[ReceivedEvent]) -> None:
        """The careful path: read, fold, compare-and-set until it holds (events already numbered)."""
        order_id = events[0].order_id
        histories = self.histories(generation, order_id)
        async with self._locks.of(order_id):
            contention = _Contention()
            while True:
                stored = await self._opened(await histories.find_one({"_id": order_id}))
                history: History = copy.deepcopy(stored) if stored is not None else new_history(order_id)
                if not any([apply(history, event) for event in events]):
                    if stored is not None:  # already folded (a bulk replace that did land): index it
                        await self._index(generation, stored, None)
                    return
                version = None if stored is None else stored["version"]
                if await self._save(histories, history, version, claim=contention.claim(version)):
                    await self._index(generation, history, stored)
                    return
                await contention.wait()

    async def record(self, event: ReceivedEvent, generation: str | None = None, append: bool = True) -> bool:
        """Append `event` to the log (once) and fold it into its order's history; False if already applied."""
        async with self._locks.of(event.order_id):
            return await self._record(event, generation, append)

    async def _record(self, event: ReceivedEvent, generation: str | None, append: bool) -> bool:
        generation = generation or await self.generation()
        histories = self.histories(generation, event.order_id)
        numbered: ReceivedEvent | None = None if append else event
        contention = _Contention()
        while True:
            stored = await self._opened(await histories.find_one({"_id": event.order_id}))
            if stored is not None and event.event_id in stored["applied"]:
                # Redelivered: the history has it; make sure the summary and lookups caught up too.
                await self._index(generation, stored, None)
                return False
            if numbered is None:
                numbered = await self.log.append(event)
            history: History = copy.deepcopy(stored) if stored is not None else new_history(event.order_id)
            apply(history, numbered)
            version = None if stored is None else stored["version"]
            if await self._save(histories, history, version, claim=contention.claim(version)):
                await self._index(generation, history, stored)
                return True
            await contention.wait()  # another writer got in first: read again

    async def _claim_many(self, generation: str, versions: dict[str, int]) -> set[str]:
        """Claims (`CLAIMS`) the version each order's history is replaced at, for a whole batch in one insert;
        returns the orders claimed. An order another writer claimed first takes the careful path."""
        if not versions or await self._versioned_writes():
            return set(versions)
        claims = {
            _claim_id(self.histories(generation, order_id).name, order_id, version): order_id
            for order_id, version in versions.items()
        }
        try:
            await self.database[CLAIMS].insert_many([{"_id": claim} for claim in claims], ordered=False)
        except BulkWriteError as error:
            written = list(claims)
            taken = set()
            for failure in error.details.get("writeErrors", []):
                if failure.get("code") != DUPLICATE_KEY:
                    raise
                taken.add(claims[written[failure["index"]]])
            return set(versions) - taken
        return set(versions)

    async def _save(self, histories: Any, plain: History, expected_version: int | None, claim: bool = True) -> bool:
        """Write `plain` if the stored history is still at `expected_version` (None: there is none); False when
        another writer got there first. `claim` False: the version is claimed already, or left unclaimed too long
        (`_Contention`)."""
        history = await self.sealed("histories", plain)
        if expected_version is None:
            try:
                await histories.insert_one(history)
            except DuplicateKeyError:
                return False
            return True
        match: dict[str, Any] = {"_id": history["_id"]}
        if await self._versioned_writes():
            match["version"] = expected_version
        elif claim:
            try:
                await self.database[CLAIMS].insert_one(
                    {"_id": _claim_id(histories.name, history["_id"], expected_version)}
                )
            except DuplicateKeyError:
                return False
        result = await histories.replace_one(match, history)
        return bool(result.matched_count)

    async def _versioned_writes(self) -> bool:
        """On MongoDB the replace is conditional on the version read (atomic, and served by the `_id` index).
        FerretDB v1 pushes a filter down to SQL only when it is `_id` alone; with the version added it decodes
        the whole shard on every write (~90 ms at 10,000 orders) while still not making the check atomic —
        there the filter is `_id` alone, the per-order lock serialises this process's writers, and a claim
        (`CLAIMS`) those of two processes (the chaos run lost a refund from a history without it: a process
        that had not yet noticed it lost the partition wrote over the new owner's fold, or the other way)."""
        if self._version_filter is None:
            build = await self.database.client.admin.command("buildInfo")
            self._version_filter = "ferretdbVersion" not in build
        return self._version_filter

    async def _index(self, generation: str, history: History, before: History | None) -> None:
        await self._index_many(generation, [(history, before)])

    async def _index_many(self, generation: str, folded: list[tuple[History, History | None]]) -> None:
        """Write the summaries and lookups that changed (one bulk replace per summaries collection; unchanged
        ones are skipped: each document of a write is a write of its own on FerretDB)."""
        summaries: list[dict[str, Any]] = []
        adds: set[tuple[str, str]] = set()
        for history, before in folded:
            if history["placed"] is None:
                continue  # not searchable before its placement is known
            summary = summary_of(history)
            known = before is not None and before["placed"] is not None
            if not known or summary_of(before) != summary:  # type: ignore[arg-type]
                summaries.append(summary)
            new_keys = lookup_keys(history) - (lookup_keys(before) if known else set())  # type: ignore[arg-type]
            adds.update((stored, history["order_id"]) for stored in map(self.lookup_id, new_keys) if stored is not None)
        by_collection: dict[str, list[dict[str, Any]]] = {}
        for document in await self.sealed_many("summaries", summaries):
            by_collection.setdefault(self.summaries(generation, document["_id"]).name, []).append(document)
        for name, documents in by_collection.items():  # one at a time: see shared/batched_writes.py
            await replace_all(self.database[name], documents)
        await self.search_keys.add_many(generation, self._lookup_collection(generation), sorted(adds))

    def _lookup_collection(self, generation: str) -> Callable[[str], Any]:
        return lambda document_id: self.lookups(generation, document_id)

    # Reads.

    async def history(self, order_id: str) -> History | None:
        await self.notice_erasures()
        found = await self.histories(await self.generation(), order_id).find_one({"_id": order_id})
        return await self._opened(found)

    async def summaries_of(self, order_ids: list[str]) -> list[dict[str, Any]]:
        generation = await self.generation()
        found = await asyncio.gather(
            *(self.summaries(generation, order_id).find_one({"_id": order_id}) for order_id in order_ids)
        )
        return await self._opened_summaries([summary for summary in found if summary is not None])

    async def lookup(self, key: str) -> list[str]:
        stored_key = self.lookup_id(key)
        if stored_key is None:
            return []
        return await self.search_keys.order_ids(self._lookup_collection(await self.generation()), stored_key)

    async def scan_summary_keys(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """The `_id`, status and placement time of every summary matching `query` (fields never sealed): a filter
        other than on `_id` scans every summary (FerretDB decodes each document; measured in benchmarks/history.py),
        so a search pages on these and reads whole summaries for its page only."""
        generation = await self.generation()

        async def scan(shard: int) -> list[dict[str, Any]]:
            collection = self.database[f"{generation}_summaries_{shard:03d}"]
            return [key async for key in collection.find(query, SCAN_FIELDS)]

        found = await asyncio.gather(*(scan(shard) for shard in range(self.shards_of(generation))))
        return [key for shard in found for key in shard]

    # Personal data.

    def lookup_id(self, key: str) -> str | None:
        """The `_id` a lookup key is stored under (emails by keyed hash); None: a key that leads nowhere."""
        return key if self.personal is None else self.personal.lookup_id(key)

    async def sealed(self, kind: str, document: dict[str, Any]) -> dict[str, Any]:
        """`document` (a history or a summary) as it is stored: personal fields sealed under the customer's key."""
        (sealed,) = await self.sealed_many(kind, [document])
        return sealed

    async def sealed_many(self, kind: str, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        personal = self.personal
        if personal is None:
            return documents
        histories = kind == "histories"
        seal = personal.seal_history if histories else personal.seal_summary

        def seal_all() -> list[dict[str, Any]]:
            personal.prepare(document.get("placed") or {} if histories else document for document in documents)
            return [seal(document) for document in documents]

        try:
            return await asyncio.to_thread(seal_all)
        except ErasureRaced:
            self.forget_written()  # the plaintext in memory may be an erased customer's: read it again
            raise

    async def _opened(self, history: History | None) -> History | None:
        personal = self.personal
        if history is None or personal is None:
            return history
        return await asyncio.to_thread(personal.open_history, history)

    async def _opened_summaries(self, summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        personal = self.personal
        if personal is None or not summaries:
            return summaries
        return await asyncio.to_thread(lambda: [personal.open_summary(summary) for summary in summaries])

    async def notice_erasures(self) -> None:
        """An erasure carried out by another replica: forget the plaintext histories kept in memory."""
        if self.personal is not None and await asyncio.to_thread(self.personal.refresh):
            self.forget_written()

    async def erase_customer(self, customer_id: str, erasure_id: str) -> None:
        """This service's part of an erasure: the email lookups that lead to the customer's orders go (while the
        emails can still be read to find them), then the key (after which every sealed copy reads as erased).
        Idempotent: a redelivered erasure finds nothing left to remove and the vault skips a known erasure id."""
        personal = self.personal
        if personal is None:
            return
        generation = await self.generation()
        order_ids = await self.lookup(f"customer:{customer_id}")
        emails = set()
        for order_id in order_ids:
            history = await self.history(order_id)
            customer = ((history or {}).get("placed") or {}).get("customer") or {}
            if customer.get("email"):
                emails.add(str(customer["email"]).lower())
        for email in sorted(emails):
            stored_key = self.lookup_id(f"email:{email}")
            if stored_key is None:
                continue
            await self.search_keys.remove(self._lookup_collection(generation), stored_key, order_ids)
        await asyncio.to_thread(personal.sealer.vault.erase, customer_id, erasure_id)
        self.forget_written()


class _Contention:
    """A writer that keeps losing to the claim on one version: the claimer wrote nothing (it died between its
    claim and its write) once the version has not moved for CLAIM_TRIES looks."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.tries = 0

    def claim(self, version: int | None) -> bool:
        if version != self.version:
            self.version, self.tries = version, 0
        self.tries += 1
        return self.tries <= CLAIM_TRIES

    async def wait(self) -> None:
        await asyncio.sleep(0 if self.tries <= 1 else 0.05)


async def _insert_new(collection: Any, items: list[tuple[str, dict[str, Any]]]) -> set[str]:
    """Insert the documents of new histories; returns the orders inserted (one that exists already is not)."""
    try:
        await collection.insert_many([document for _, document in items], ordered=False)
    except BulkWriteError as error:
        taken = set()
        for failure in error.details.get("writeErrors", []):
            if failure.get("code") != DUPLICATE_KEY:
                raise
            taken.add(items[failure["index"]][0])
        return {order_id for order_id, _ in items} - taken
    return {order_id for order_id, _ in items}


async def _replace_all(collection: Any, items: list[tuple[str, dict[str, Any]]]) -> set[str]:
    updated = await update_all(collection, [statement for _, statement in items])
    return {order_id for order_id, _ in items} if updated.matched == len(items) else set()


def _claim_id(collection: str, order_id: str, version: int) -> str:
    return f"{collection}/{order_id}@{version}"


def _unique_by_id(events: list[ReceivedEvent]) -> list[ReceivedEvent]:
    """The same event id twice in one batch (a redelivered copy) is appended and folded once."""
    return list({event.event_id: event for event in events}.values())
