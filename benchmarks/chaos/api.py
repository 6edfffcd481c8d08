"""The documented HTTP endpoints, asked the way a support tool would: any live replica of a service, the
next one if that does not answer, at a bounded request rate so the harness does not starve the system it
measures of CPU."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import httpx

from benchmarks.chaos.fleet import Fleet
from cli.tokens import bearer

Json = dict[str, Any]


class Unavailable(Exception):
    """No replica of the service answered (killed, restarting, or its store or broker is down)."""


class Pace:
    """At most `rate` requests per second, spread evenly."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_slot = time.monotonic()
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self.lock:
            now = time.monotonic()
            self.next_slot = max(self.next_slot, now)
            delay = self.next_slot - now
            self.next_slot += self.interval
        if delay > 0:
            await asyncio.sleep(delay)


class SystemApi:
    def __init__(self, fleet: Fleet, pace: Pace) -> None:
        self.fleet = fleet
        self.pace = pace
        # Every endpoint it reads needs a token; a manager's reads everything and changes nothing.
        self.http = httpx.AsyncClient(timeout=15, headers=bearer("manager"))
        self.requests = 0
        self.failures = 0
        # Services that stayed silent through a whole round of patient retries (see snapshot.patiently).
        self.silent: set[str] = set()

    async def close(self) -> None:
        await self.http.aclose()

    # orders
    async def order(self, order_id: str) -> Json | None:
        return await self._object("orders", f"/orders/{order_id}")

    # customer_service
    async def history(self, order_id: str) -> Json | None:
        return await self._object("customer_service", f"/orders/{order_id}/history")

    # inventory
    async def stock(self, sku: str) -> Json | None:
        return await self._object("inventory", f"/stock/{sku}")

    async def reservation(self, order_id: str) -> Json | None:
        return await self._object("inventory", f"/reservations/{order_id}")

    # shipping
    async def shipments(self, order_id: str) -> list[Json]:
        found = await self._get("shipping", "/shipments", {"order_id": order_id})
        return list(found) if isinstance(found, list) else []

    async def shipment(self, shipment_id: str) -> Json | None:
        return await self._object("shipping", f"/shipments/{shipment_id}")

    async def _object(self, service: str, path: str) -> Json | None:
        found = await self._get(service, path)
        return found if isinstance(found, dict) else None

    async def _get(self, service: str, path: str, params: dict[str, str] | None = None) -> Any:
        """The JSON body, None for a 404; `Unavailable` when no replica gave a straight answer."""
        urls = self.fleet.urls(service)
        random.shuffle(urls)  # spread reads over replicas; not part of the seeded plan
        for url in urls:
            await self.pace.wait()
            self.requests += 1
            try:
                response = await self.http.get(url + path, params=params)
            except httpx.HTTPError:
                self.failures += 1
                continue
            if response.status_code == 404:
                return None
            if response.status_code == 200:
                return response.json()
            self.failures += 1  # 5xx while its store or broker is away: ask the next one
        raise Unavailable(service)
