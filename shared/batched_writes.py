"""Many documents' updates and deletes from the async client, in as few commands as FerretDB v1 can take.

FerretDB keeps one pooled SQLite connection per statement of an `update` command open until the command ends, and
wedges a database for good once the statements in flight hold its whole pool (`UPDATES_PER_COMMAND` in
shared/eventstore/streams.py says how, and how it was found). So every multi-document write here goes in commands
of at most `UPDATES_PER_COMMAND` statements, one command at a time per database from this process
(`multi_update_gate`, shared with the event logs' writes). Sent as raw commands: FerretDB's reply lacks
`nModified` when an upsert inserts, which pymongo's `bulk_write` cannot merge.

Two owners for a moment (a rebalance) can both insert a new `_id`: FerretDB fails the loser with E11000 instead of
updating. Commands are ordered, so what came before is applied and the document now exists: sending the rest again
always gets further.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import WriteError

from shared.eventstore.streams import multi_update_gate, update_batches

Document = dict[str, Any]
DUPLICATE_KEY = 11000


@dataclass
class Updated:
    """What the statements did: how many matched a document that existed, and the `_id`s of those they inserted.
    By `_id`, not by position: FerretDB v1 numbers each upsert by its place among the upserts, not among the
    statements (`msg_update.go`), so a position would name the wrong statement."""

    matched: int = 0
    upserted: set[Any] = field(default_factory=set)


async def update_all(collection: AsyncCollection[Document], statements: Sequence[Document]) -> Updated:
    """`statements` are `update` statements (`{"q": …, "u": …, "upsert": …}`), applied in order."""
    updated = Updated()
    for batch in update_batches(statements):
        start = 0
        while start < len(batch):
            reply = await _command(collection, {"update": collection.name, "updates": list(batch[start:])})
            upserted = [u["_id"] for u in reply.get("upserted") or []]
            updated.upserted.update(upserted)
            updated.matched += int(reply.get("n", 0)) - len(upserted)
            lost = _lost_race(reply)
            if lost is None:
                break
            start += lost
    return updated


async def replace_all(collection: AsyncCollection[Document], documents: Sequence[Document]) -> None:
    """Upsert whole documents by `_id`."""
    if documents:
        await update_all(collection, [{"q": {"_id": d["_id"]}, "u": d, "upsert": True} for d in documents])


async def delete_all(collection: AsyncCollection[Document], ids: Sequence[str]) -> None:
    for batch in update_batches([{"q": {"_id": i}, "limit": 1} for i in ids]):
        reply = await _command(collection, {"delete": collection.name, "deletes": list(batch)})
        _lost_race(reply)


async def _command(collection: AsyncCollection[Document], command: Document) -> Document:
    gate = multi_update_gate(collection.database.name)
    # Taking turns with the event logs' writes (see multi_update_gate); polled, so that a cancelled task never
    # takes the lock after it stopped waiting for it.
    while not gate.acquire(blocking=False):  # noqa: ASYNC110 - a lock shared with threads
        await asyncio.sleep(0.002)
    try:
        reply: Document = await collection.database.command({**command, "ordered": True})
    finally:
        gate.release()
    return reply


def _lost_race(reply: Document) -> int | None:
    """The index of a statement that lost an insert race (E11000), or None when all were applied."""
    errors = reply.get("writeErrors") or []
    if not errors:
        return None
    if errors[0].get("code") == DUPLICATE_KEY:
        return int(errors[0].get("index", 0))
    raise WriteError(str(errors[0].get("errmsg")), errors[0].get("code"), errors[0])
