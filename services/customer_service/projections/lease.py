"""One rebuild at a time across every replica: a lease document in the store, renewed while the rebuild runs.

A rebuild reads the whole received log and rewrites every read model (measured: 48 s for 2,329 events, FerretDB's
memory doubling); two at once, or one per replica, only multiply that. The lease is a document with a fixed `_id`
in `projection_meta`: inserting it is the claim (a second insert fails on the unique `_id`, on FerretDB as on
MongoDB). A holder that died stops renewing it, and once it has expired the next rebuild may take it over.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

LEASE_ID = "rebuild_lease"
LEASE_S = 60.0


class RebuildRunning(Exception):
    """Another rebuild holds the lease; the message names it."""


class RebuildLease:
    def __init__(self, collection: AsyncCollection[dict[str, Any]], lease_s: float = LEASE_S) -> None:
        self.collection = collection
        self.lease_s = lease_s

    async def claim(self, rebuild_id: str) -> None:
        now = time.time()
        await self.collection.delete_one({"_id": LEASE_ID, "expires_at": {"$lt": now}})
        try:
            await self.collection.insert_one(
                {"_id": LEASE_ID, "rebuild_id": rebuild_id, "claimed_at": now, "expires_at": now + self.lease_s}
            )
        except DuplicateKeyError:
            holder = await self.collection.find_one({"_id": LEASE_ID})
            running = holder["rebuild_id"] if holder is not None else "another one"
            raise RebuildRunning(f"rebuild {running} is still running; one at a time") from None

    @asynccontextmanager
    async def held(self, rebuild_id: str) -> AsyncIterator[None]:
        """Renews the claimed lease while the body runs, and releases it afterwards (even when it failed)."""
        renewing = asyncio.create_task(self._renew(rebuild_id), name=f"lease-{rebuild_id}")
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            await self.collection.delete_one({"_id": LEASE_ID, "rebuild_id": rebuild_id})

    async def _renew(self, rebuild_id: str) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            # A missed renewal is retried at the next beat; three in a row and another rebuild may start.
            with contextlib.suppress(PyMongoError):
                await self.collection.update_one(
                    {"_id": LEASE_ID, "rebuild_id": rebuild_id}, {"$set": {"expires_at": time.time() + self.lease_s}}
                )
