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
from services.reporting.policies import observed, subscriptions
from services.reporting.projections.projection import PartitionProjection, WriterCollision
from services.reporting.projections.queries import KpiQueries
from services.reporting.projections.reader import ReadModelReader
from services.reporting.projections.rebuild import write_generation
from services.reporting.projections.store import ReportingStore
from shared.messaging.event_log import Edge
from shared.messaging.ownership import partition_of
from tests.reporting_scenario import Published, events
from tests.unit.reporting.models import PARTITIONS, fold, record, settings
from tests.unit.reporting.test_scenario_kpis import FAMILIES, RANGE, queries


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


async def test_the_stored_read_model_answers_as_the_folded_partitions_whatever_a_replica_kept(
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    """The scenario written as a rebuild writes it: the queries over the stored buckets and rows (one replica's
    reader and everything its queries keep derived from them, asked in turn for every family, range and as-of
    time) give exactly the figures of the folded partitions; then a late return and a late refund (a customer's
    net revenue) are folded by their partitions' owners, and the same replica's answers follow them (days it kept
    changed) while those as of before them stay."""
    late = [e for e in events() if (e.type, e.key) in {("ReturnReceived", "O7"), ("RefundIssued", "O5")}]
    models, _ = fold([e for e in events() if e not in late])
    name = f"reporting_store_{uuid.uuid4().hex[:8]}"
    store = ReportingStore(mongo[name], partitions=PARTITIONS)
    try:
        await store.create_collections("g0")
        await write_generation(store, "g0", models)
        config = settings()
        replica = KpiQueries(ReadModelReader(store), config.ship_by_rule(), config.replenishment_policy())
        times = [None, *sorted({e.occurred_at.replace("Z", ".000000Z") for e in events()})]

        async def compare(expected: dict[int, Any]) -> None:
            folded = queries(expected)
            for as_of in times:
                for family in FAMILIES:
                    for start, end in (RANGE, (RANGE[0], RANGE[0]), (date(2026, 11, 4), RANGE[1])):
                        found = await replica.kpis(family, start, end, by="day", as_of=as_of, generation="g0")
                        wanted = await folded.kpis(family, start, end, by="day", as_of=as_of, generation="g0")
                        if family == "support":  # open cases' ages are judged at the query's time when live
                            for figure in (found["total"], wanted["total"], *found["periods"], *wanted["periods"]):
                                figure.pop("open_cases_by_age")
                        assert found == wanted, (family, start, end, as_of)

        await compare(models)
        await replica.kpis("customers", *RANGE, generation="g0")  # what it keeps last: the live lifetime totals
        for event in late:
            owner = PartitionProjection(
                store, partition_of(event.key.encode(), PARTITIONS), config.ship_by_rule(),
                config.replenishment_policy(), _nothing, "g0",
            )  # fmt: skip
            await owner.assigned()
            await owner.apply(through_the_edge(event))
        fold(late, models)
        await compare(models)
    finally:
        await mongo.drop_database(name)


async def _nothing(_: Any) -> None:
    return None


def through_the_edge(event: Published) -> list[Observed]:
    """As the service's consumer hands an event to its partition's owner (times made fixed-width, and so on)."""
    edge = Edge(subscriptions(), "")
    readable, rejected = edge.read_batch([record(event)])
    assert not rejected
    return [observed(edge.topic(event.topic).owner, message) for _, message, _ in readable]
