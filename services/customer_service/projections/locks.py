"""Striped asyncio locks, taken many at a time in one order, so no two holders can wait for each other."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable

LOCK_STRIPES = 256


class StripedLocks:
    def __init__(self, stripes: int = LOCK_STRIPES) -> None:
        self._locks = [asyncio.Lock() for _ in range(stripes)]

    def of(self, key: str) -> asyncio.Lock:
        return self._locks[hash(key) % len(self._locks)]

    @contextlib.asynccontextmanager
    async def all_of(self, keys: Iterable[str]) -> AsyncIterator[None]:
        """The locks of every key, taken in stripe order (a stripe shared by two keys is taken once)."""
        async with contextlib.AsyncExitStack() as stack:
            for stripe in sorted({hash(key) % len(self._locks) for key in keys}):
                await stack.enter_async_context(self._locks[stripe])
            yield
