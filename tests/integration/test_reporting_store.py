"""The reporting read model's fact log on the real FerretDB: appended batches and snapshots load back as the
latest fact of each id; a snapshot drops what is before it; a second writer of an entry is refused."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from services.reporting.config import ReportingSettings
from services.reporting.domain.facts import Observed
from services.reporting.projections.projection import PartitionProjection, WriterCollision
from services.reporting.projections.queries import KpiQueries
from services.reporting.projections.reader import ReadModelReader
from services.reporting.projections.store import ReportingStore
from tests.reporting_scenario import events


@pytest.fixture
async def store(mongo: AsyncMongoClient[dict[str, Any]]) -> Any:
    name = f"reporting_store_{uuid.uuid4().hex[:8]}"
    reporting = ReportingStore(mongo[name], partitions=2)
    await reporting.create_collections("g0")
    yield reporting
    await mongo.drop_database(name)


async def test_the_log_loads_as_the_latest_fact_of_each_id(store: ReportingStore) -> None:
    assert await store.load_facts("g0", 1) == ({}, 0)
    await store.append_facts("g0", 1, 1, {"O1": {"v": 1}, "O2": {"v": 1}})
    await store.append_facts("g0", 1, 2, {"O1": {"v": 2}})
    assert await store.load_facts("g0", 1) == ({"O1": {"v": 2}, "O2": {"v": 1}}, 2)
    assert await store.load_facts("g0", 0) == ({}, 0)  # another partition's log


async def test_a_snapshot_replaces_what_is_before_it(store: ReportingStore) -> None:
    for entry in range(1, 6):
        await store.append_facts("g0", 0, entry, {f"O{entry}": {"v": entry}})
    facts, last = await store.load_facts("g0", 0)
    following = await store.write_snapshot("g0", 0, {**facts, "O1": {"v": 10}}, last + 1)
    assert following == last + 2  # five facts fit one entry
    assert await store.fact_log("g0", 0).count_documents({}) == 1
    await store.append_facts("g0", 0, following, {"O2": {"v": 20}})
    loaded, last = await store.load_facts("g0", 0)
    assert (loaded["O1"], loaded["O2"], loaded["O5"], last) == ({"v": 10}, {"v": 20}, {"v": 5}, following)


async def test_a_second_writer_of_an_entry_is_refused(store: ReportingStore) -> None:
    await store.append_facts("g0", 1, 1, {"O1": {"v": 1}})
    with pytest.raises(DuplicateKeyError):
        await store.append_facts("g0", 1, 1, {"O1": {"v": 99}})
    assert (await store.load_facts("g0", 1))[0] == {"O1": {"v": 1}}


async def test_a_stale_owner_collides_retries_from_the_store_and_counts_nothing_twice(store: ReportingStore) -> None:
    """Two processes briefly both think they own partition 1 (a rebalance in flight): the second one's write collides,
    which the consumer retries (an OSError, not a fault of the records); the retry loads what the first wrote."""
    config = ReportingSettings()

    async def nothing(_: Any) -> None:
        return None

    def owner() -> PartitionProjection:
        return PartitionProjection(store, 1, config.ship_by_rule(), config.replenishment_policy(), nothing, "g0")

    first, stale = owner(), owner()
    await first.assigned()
    await stale.assigned()
    placed = [event for event in events() if event.type == "OrderAccepted"]
    observed = [Observed(e.event_id, "orders", e.type, e.occurred_at, e.data) for e in placed]
    await first.apply(observed[:3])
    with pytest.raises(WriterCollision) as collided:
        await stale.apply(observed[2:5])
    assert isinstance(collided.value, OSError)
    await stale.apply(observed[2:5])  # the runtime's retry
    facts, _ = await store.load_facts("g0", 1)
    assert sorted(facts) == sorted(e.data["order_id"] for e in placed[:5])
    days = {day: counters.get("orders", 0) for day, (_, counters) in (await store.stored_buckets("g0", 1)).items()}
    assert sum(days.values()) == 5  # O3 was in both batches: counted once


async def test_stock_figures_as_of_a_time_take_a_level_that_arrived_after_they_were_read(store: ReportingStore) -> None:
    """A replica keeps the day's stock levels it read while the partition's state holds: a late level (occurred
    before `as_of`, folded after the first read) is in the next answer."""
    config = ReportingSettings()

    async def nothing(_: Any) -> None:
        return None

    owners = [
        PartitionProjection(store, p, config.ship_by_rule(), config.replenishment_policy(), nothing, "g0")
        for p in (0, 1)
    ]
    for owner in owners:
        await owner.assigned()

    def level(event_id: str, at: str, on_hand: int) -> Observed:
        data = {"sku": "A", "warehouse": "LIS-1", "on_hand": on_hand, "allocated": 0, "available": on_hand,
                "cause": "received", "order_id": None}  # fmt: skip
        return Observed(event_id, "inventory", "StockLevelChanged", at, data)

    queries = KpiQueries(ReadModelReader(store), config.ship_by_rule(), config.replenishment_policy())

    async def available_as_of(as_of: str) -> list[int]:
        found = await queries.kpis("inventory", date(2026, 11, 1), date(2026, 11, 3), generation="g0", as_of=as_of)
        return [item["available"] for item in found["total"]["items"]]

    await owners[0].apply([level("L1", "2026-11-03T08:00:00.000000Z", 10)])
    assert await available_as_of("2026-11-03T12:00:00.000000Z") == [10]
    await owners[0].apply([level("L2", "2026-11-03T10:00:00.000000Z", 4)])
    assert await available_as_of("2026-11-03T12:00:00.000000Z") == [4]
    assert await available_as_of("2026-11-03T09:00:00.000000Z") == [10]
