"""Samples GET /stock for every sku while the run goes on: available (and on hand) must never be seen below
zero, nor allocated above on hand — an oversell shows up here even if it is later corrected."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from benchmarks.chaos.api import Json, SystemApi, Unavailable
from benchmarks.chaos.scenario import SKUS

SAMPLE_EVERY_S = 2.0


@dataclass
class StockWatch:
    api: SystemApi
    latest: dict[str, Json] = field(default_factory=dict)  # sku -> the last stock view seen
    samples: int = 0
    oversold: dict[tuple[str, str], str] = field(default_factory=dict)  # (sku, warehouse) -> first sighting

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.gather(*(self.sample(sku) for sku in SKUS))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAMPLE_EVERY_S)

    async def sample(self, sku: str) -> None:
        try:
            view = await self.api.stock(sku)
        except Unavailable:
            return
        if view is None:
            return
        self.latest[sku] = view
        self.samples += 1
        for level in view.get("warehouses", []):
            on_hand, allocated, available = level["on_hand"], level["allocated"], level["available"]
            if available < 0 or on_hand < 0 or allocated < 0 or allocated > on_hand:
                cell = (sku, level["warehouse"])
                self.oversold.setdefault(cell, f"on_hand={on_hand} allocated={allocated} available={available}")
