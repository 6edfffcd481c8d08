"""Calling a synchronous eventsourcing application from async code without blocking the loop.

The library (9.5) and this module's recorders are synchronous; each save is several
round trips to MongoDB.  Services await them through a ThreadOffloader, which runs the
call on its own bounded pool so event-store calls neither block the event loop nor
starve the loop's default executor::

    offloader = ThreadOffloader(max_workers=8)      # built in the app's lifespan
    order_id = await offloader.call(app.place_order, customer_id, lines)
    ...
    offloader.close()                               # on shutdown
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class ThreadOffloader:
    def __init__(self, max_workers: int = 8, thread_name_prefix: str = "eventstore") -> None:
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=thread_name_prefix)

    async def call(self, func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(func, *args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=True)

    def __enter__(self) -> ThreadOffloader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
