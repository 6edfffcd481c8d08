"""The lookup documents that lead from a search key (customer, email, sku, tracking number) to order ids.

Two facts about FerretDB v1 shape them (measured here):
- An update is a read of the document followed by a separate write of the result, with nothing in between to stop
  another writer: 100 concurrent `$addToSet`s to one document kept 84 ids. So two writers must never update one
  lookup document at the same time.
- An update rewrites the whole document (2.6 ms for a small one, 12.8 ms for ~30 KB with one client), and a
  document may not pass 16 MiB. So no lookup document may grow with the number of orders.

Hence: a key's ids are kept per partition of the order (each partition has exactly one writer, the process that
owns it, and within that process the writes to one document are serialised and coalesced), and per partition in a
chain of buckets of at most BUCKET ids: the head `<key>@<partition>` (which says how many buckets follow, `chained`)
and `<key>@<partition>#1`, `#2`, …. A reader reads the heads of every partition, then the buckets they name.
A lookup written by an earlier version as one document `_id = <key>` is still read (and erased).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from pymongo import ReturnDocument

from services.customer_service.projections.locks import StripedLocks
from shared.batched_writes import update_all
from shared.messaging.ownership import partition_of

# Order ids per lookup document: bounds what one update rewrites (~40 bytes each).
BUCKET = 500
# The bucket each head is being filled at, kept by the writer (a miss costs a read or the write's answer).
TAILS_KEPT = 100_000


class Tail(NamedTuple):
    """Where a chain's next ids go: `bucket`, holding `filled` ids (None: not known, its next write returns it)."""

    bucket: int
    filled: int | None


Collection = Callable[[str], Any]  # a lookup document's `_id` → the collection that holds it


def head_id(stored_key: str, partition: int) -> str:
    return f"{stored_key}@{partition}"


def bucket_id(stored_key: str, partition: int, bucket: int) -> str:
    head = head_id(stored_key, partition)
    return head if bucket == 0 else f"{head}#{bucket}"


def lookup_documents(stored_key: str, partition: int, order_ids: list[str]) -> list[dict[str, Any]]:
    """A key's ids of one partition as a rebuild writes them at once: a full chain."""
    chunks = [order_ids[start : start + BUCKET] for start in range(0, len(order_ids), BUCKET)] or [[]]
    head = {"_id": head_id(stored_key, partition), "order_ids": chunks[0], "chained": len(chunks) - 1}
    return [head] + [
        {"_id": bucket_id(stored_key, partition, n), "order_ids": chunk} for n, chunk in enumerate(chunks[1:], 1)
    ]


class Lookups:
    """Reads and writes the lookup documents of one generation at a time (`collection` finds their shard)."""

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        self._locks = StripedLocks()
        # Ids waiting for a document's write, by (generation, head): whoever holds its lock writes them all.
        self._pending: dict[tuple[str, str], set[str]] = {}
        self._tails: OrderedDict[tuple[str, str], Tail] = OrderedDict()

    def partition(self, order_id: str) -> int:
        return partition_of(order_id.encode(), self.partitions)

    async def add(self, generation: str, collection: Collection, stored_key: str, order_id: str) -> None:
        """`order_id` is found by `stored_key` once this returns. Concurrent adds to one document go in one write."""
        head_partition = self.partition(order_id)
        head = head_id(stored_key, head_partition)
        pending = self._pending.setdefault((generation, head), set())
        pending.add(order_id)
        async with self._locks.of(head):
            pending = self._pending.get((generation, head), set())
            if order_id not in pending:
                return  # the write of whoever held the lock before carried it
            ids = sorted(pending)
            del self._pending[(generation, head)]
            try:
                await self._append(generation, collection, stored_key, head_partition, ids)
            except BaseException:
                self._pending.setdefault((generation, head), set()).update(ids)  # the next holder writes them
                raise

    async def add_many(self, generation: str, collection: Collection, pairs: Iterable[tuple[str, str]]) -> None:
        """Each (stored key, order id) is found once this returns: one bulk update per collection for the chains
        whose tail this writer knows with room left, or has never seen (a new key, nearly always: its upsert says
        so; an existing one is read once to learn it); the others one document at a time (`add`)."""
        ids: dict[tuple[str, int], set[str]] = {}
        for stored_key, order_id in pairs:
            ids.setdefault((stored_key, self.partition(order_id)), set()).add(order_id)
        bulk: dict[tuple[str, int], Tail | None] = {}
        for (stored_key, partition), chain_ids in ids.items():
            tail = self._tails.get((generation, head_id(stored_key, partition)))
            if tail is None or (tail.filled is not None and tail.filled + len(chain_ids) < BUCKET):
                bulk[stored_key, partition] = tail
        one_by_one = [
            self.add(generation, collection, stored_key, order_id)
            for (stored_key, partition), chain_ids in ids.items()
            if (stored_key, partition) not in bulk
            for order_id in sorted(chain_ids)
        ]
        async with self._locks.all_of(head_id(key, partition) for key, partition in bulk):
            await self._bulk_append(generation, collection, {chain: (bulk[chain], ids[chain]) for chain in bulk})
        await asyncio.gather(*one_by_one)

    async def _bulk_append(
        self, generation: str, collection: Collection, chains: dict[tuple[str, int], tuple[Tail | None, set[str]]]
    ) -> None:
        # By collection: its updates, and the chain each is for.
        operations: dict[str, tuple[Any, list[tuple[tuple[str, int], dict[str, Any]]]]] = {}
        for (stored_key, partition), (tail, chain_ids) in chains.items():
            target = bucket_id(stored_key, partition, 0 if tail is None else tail.bucket)
            update: dict[str, Any] = {
                "q": {"_id": target},
                "u": {"$addToSet": {"order_ids": {"$each": sorted(chain_ids)}}},
                "upsert": True,
            }
            lookups = collection(target)
            operations.setdefault(lookups.name, (lookups, []))[1].append(((stored_key, partition), update))
        # One command at a time (shared/batched_writes.py says why).
        results = [await update_all(lookups, [u for _, u in items]) for lookups, items in operations.values()]
        unknown = []
        for (_, items), result in zip(operations.values(), results, strict=True):
            for chain, update in items:
                tail, chain_ids = chains[chain]
                if update["q"]["_id"] in result.upserted:  # a new document: it holds just these ids
                    await self._settle(
                        generation, collection, *chain, 0 if tail is None else tail.bucket, 0, len(chain_ids)
                    )
                elif tail is not None and tail.filled is not None:  # `$addToSet` may have added fewer: an upper bound
                    await self._settle(generation, collection, *chain, tail.bucket, 0, tail.filled + len(chain_ids))
                else:
                    unknown.append(chain)
        found = await _find(collection, [head_id(stored_key, partition) for stored_key, partition in unknown])
        for (stored_key, partition), head in zip(unknown, found, strict=True):
            assert head is not None  # just written
            await self._settle(
                generation, collection, stored_key, partition, 0, int(head.get("chained", 0)), len(head["order_ids"])
            )

    async def _append(
        self, generation: str, collection: Collection, stored_key: str, partition: int, ids: list[str]
    ) -> None:
        tail = self._tails.get((generation, head_id(stored_key, partition)))
        bucket = 0 if tail is None else tail.bucket
        target = bucket_id(stored_key, partition, bucket)
        written = await collection(target).find_one_and_update(
            {"_id": target},
            {"$addToSet": {"order_ids": {"$each": ids}}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        await self._settle(
            generation,
            collection,
            stored_key,
            partition,
            bucket,
            int(written.get("chained", 0)),
            len(written["order_ids"]),
        )

    async def _settle(
        self,
        generation: str,
        collection: Collection,
        stored_key: str,
        partition: int,
        bucket: int,
        chained: int,
        filled: int,
    ) -> None:
        """Bucket `bucket` of the chain holds `filled` ids (at most) and, for the head, names `chained` buckets
        after it: where the chain's next ids go."""
        next_tail = Tail(bucket, filled)
        if bucket == 0 and chained > 0:
            # A writer that did not know the chain (it just took the partition over) wrote to the head: those ids
            # are found there, and its next writes go to the last bucket (how full: its next write says).
            next_tail = Tail(chained, None)
        elif filled >= BUCKET:
            # The head names a bucket before anything is written to it, so a reader never misses one.
            next_tail = Tail(bucket + 1, 0)
            head = head_id(stored_key, partition)
            await collection(head).update_one({"_id": head}, {"$max": {"chained": bucket + 1}}, upsert=True)
        tail_key = (generation, head_id(stored_key, partition))
        self._tails[tail_key] = next_tail
        self._tails.move_to_end(tail_key)
        while len(self._tails) > TAILS_KEPT:
            self._tails.popitem(last=False)

    def forget(self) -> None:
        """Partitions moved: another process may have extended a chain since."""
        self._tails.clear()

    async def order_ids(self, collection: Collection, stored_key: str) -> list[str]:
        """Every order id `stored_key` leads to (each partition's chain, and an earlier version's document)."""
        ids: dict[str, None] = {}
        for document in await self._documents(collection, stored_key):
            ids.update(dict.fromkeys(document["order_ids"]))
        return list(ids)

    async def remove(self, collection: Collection, stored_key: str, order_ids: list[str]) -> None:
        """Take `order_ids` out of every document of `stored_key` (an erasure); documents left empty go."""
        for document in await self._documents(collection, stored_key):
            lookups = collection(document["_id"])
            await lookups.update_one({"_id": document["_id"]}, {"$pullAll": {"order_ids": order_ids}})
            left = await lookups.find_one({"_id": document["_id"]})
            if left is not None and not left.get("order_ids") and not left.get("chained"):
                await lookups.delete_one({"_id": document["_id"]})

    async def _documents(self, collection: Collection, stored_key: str) -> list[dict[str, Any]]:
        """An earlier version's document, each partition's head, then the buckets the heads name."""
        heads = await _find(collection, [head_id(stored_key, partition) for partition in range(self.partitions)])
        chained = [
            bucket_id(stored_key, partition, n)
            for partition, head in enumerate(heads)
            if head is not None
            for n in range(1, int(head.get("chained", 0)) + 1)
        ]
        found = await _find(collection, [stored_key, *chained])
        return [document for document in [*heads, *found] if document is not None]


async def _find(collection: Collection, ids: Iterable[str]) -> list[dict[str, Any] | None]:
    return list(await asyncio.gather(*(collection(_id).find_one({"_id": _id}) for _id in ids)))
