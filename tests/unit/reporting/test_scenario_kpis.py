"""The hand-built scenario through the service's edge and partition models: exactly the expected figures."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from typing import Any

import pytest

from services.reporting.application import PartitionModel
from services.reporting.domain.contributions import add_into, contributions, until
from services.reporting.domain.facts import order_as_of, order_times
from services.reporting.projections.queries import Family, KpiQueries
from tests.reporting_scenario import (
    END,
    EXPECTED_CANCELLATIONS,
    EXPECTED_CROSSINGS,
    EXPECTED_CUSTOMERS,
    EXPECTED_CYCLES,
    EXPECTED_DISPATCH_BY_WAREHOUSE,
    EXPECTED_FULFILLMENT,
    EXPECTED_INVENTORY,
    EXPECTED_REFUND_TIME_P50_H,
    EXPECTED_REPLENISHMENT,
    EXPECTED_RETURNS,
    EXPECTED_SUPPORT,
    EXPECTED_SUPPORT_TIMES,
    EXPECTED_TOP_CUSTOMERS,
    START,
    events,
)
from tests.unit.reporting.models import ModelsReader, fold, settings

RANGE = (date.fromisoformat(START), date.fromisoformat(END))
FAMILIES: tuple[Family, ...] = ("fulfillment", "returns", "customers", "support", "inventory")


def queries(models: dict[int, PartitionModel]) -> KpiQueries:
    config = settings()
    return KpiQueries(ModelsReader(models), config.ship_by_rule(), config.replenishment_policy())  # type: ignore[arg-type]


async def figures(models: dict[int, PartitionModel]) -> dict[str, Any]:
    q = queries(models)
    found = {family: (await q.kpis(family, *RANGE))["total"] for family in ("fulfillment", "returns", "customers")}
    found["support"] = (await q.kpis("support", *RANGE))["total"]
    found["inventory"] = (await q.kpis("inventory", *RANGE))["total"]
    found["replenishment"] = await q.replenishment(today=RANGE[1])
    return found


def subset(found: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {name: found[name] for name in expected}


async def test_every_kpi_of_the_scenario_has_its_expected_value() -> None:
    models, _ = fold(events())
    found = await figures(models)
    fulfillment = found["fulfillment"]
    assert subset(fulfillment, EXPECTED_FULFILLMENT) == EXPECTED_FULFILLMENT
    assert fulfillment["cancellations"]["by_stage"] == EXPECTED_CANCELLATIONS["by_stage"]
    assert fulfillment["cancellations"]["by_reason"] == EXPECTED_CANCELLATIONS["by_reason"]
    for name, (p50, p90) in EXPECTED_CYCLES.items():
        cycle = fulfillment["cycle_time"][name]
        assert (cycle["p50_h"], cycle["p90_h"]) == (p50, p90), name
    by_warehouse = fulfillment["cycle_time"]["placed_to_dispatched"]["by"]
    assert {w: (v["p50_h"], v["p90_h"]) for w, v in by_warehouse.items()} == EXPECTED_DISPATCH_BY_WAREHOUSE
    assert subset(found["returns"], EXPECTED_RETURNS) == EXPECTED_RETURNS
    assert found["returns"]["refund_time"]["p50_h"] == EXPECTED_REFUND_TIME_P50_H
    customers = found["customers"]
    assert subset(customers, EXPECTED_CUSTOMERS) == EXPECTED_CUSTOMERS
    assert [(c["customer_id"], c["clv"], c["orders"]) for c in customers["top_customers"]] == EXPECTED_TOP_CUSTOMERS
    support = found["support"]
    assert subset(support, EXPECTED_SUPPORT) == EXPECTED_SUPPORT
    assert support["open_cases_by_age"][">7d"] == 1
    assert {k: support[k]["p50_h"] for k in EXPECTED_SUPPORT_TIMES} == EXPECTED_SUPPORT_TIMES
    rows = {(r["sku"], r["warehouse"]): r for r in found["inventory"]["items"]}
    assert {k: subset(rows[k], v) for k, v in EXPECTED_INVENTORY.items()} == EXPECTED_INVENTORY
    items = found["replenishment"]["items"]
    assert [{k: item[k] for k in EXPECTED_REPLENISHMENT[0]} for item in items] == EXPECTED_REPLENISHMENT


async def test_reorder_point_crossings_are_staged_once_per_crossing() -> None:
    _, crossings = fold(events())
    assert Counter((c.sku, c.warehouse) for c in crossings) == EXPECTED_CROSSINGS
    assert len({c.event_id for c in crossings}) == len(crossings)


async def test_a_redelivered_scenario_changes_no_figure_and_stages_no_crossing_again() -> None:
    models, _ = fold(events())
    once = await figures(models)
    _, again = fold(events(), models)
    assert again == []
    assert await figures(models) == once


async def test_figures_do_not_depend_on_how_the_topics_interleaved() -> None:
    """Per key the order is kept (one partition); across topics and keys any interleaving may happen."""
    reference = await figures(fold(events())[0])
    by_key: dict[tuple[str, str], list[Any]] = {}
    for event in events():
        by_key.setdefault((event.topic, event.key), []).append(event)
    rng = random.Random(12)
    for _ in range(3):
        queues = [list(q) for q in by_key.values()]
        shuffled = []
        while queues:
            queue = rng.choice(queues)
            shuffled.append(queue.pop(0))
            if not queue:
                queues.remove(queue)
        assert await figures(fold(shuffled)[0]) == reference


@pytest.mark.parametrize("batch", [1, 3, 1000])
async def test_what_the_fold_keeps_is_what_the_facts_give_afresh(batch: int) -> None:
    """The fold keeps each order's contributions incrementally (only what an event's part of the fact reads is
    recomputed; layers redone from a late event's time): whatever the arrival order, they equal the contributions
    of the final facts, the day buckets are their sum, and each day's rows add up to its bucket."""
    shuffled = list(events())
    random.Random(7).shuffle(shuffled)
    rule = settings().ship_by_rule()
    for arrival in (events(), shuffled):
        for model in fold(arrival, batch=batch)[0].values():
            expected: dict[str, dict[str, int]] = {}
            for order_id, fact in model.orders.items():
                assert model.contributed[order_id] == contributions(fact, rule), order_id
                add_into(expected, contributions(fact, rule))
            assert {day: c for day, c in model.buckets.items() if c} == {day: c for day, c in expected.items() if c}
            for day, bucket in model.buckets.items():
                rows: Counter[str] = Counter()
                for layers in model.rows(day).values():
                    for _, change in layers:
                        rows.update(change)
                assert {k: v for k, v in rows.items() if v} == bucket, day


@pytest.mark.parametrize("batch", [1, 3, 1000])
def test_an_orders_layers_add_up_at_each_of_its_times_to_what_its_fact_gave_then(batch: int) -> None:
    """However its events arrived (late ones redo the layers from their time), the sum of an order's layers up to
    each of its event times is the contributions of its fact as of that time, computed afresh."""
    rule = settings().ship_by_rule()
    for seed in (3, 7, 11):
        shuffled = list(events())
        random.Random(seed).shuffle(shuffled)
        for model in fold(shuffled, batch=batch)[0].values():
            for order_id, fact in model.orders.items():
                for at in order_times(fact):
                    expected = {d: c for d, c in contributions(order_as_of(fact, at), rule).items() if c}
                    assert {d: c for d, c in until(model.layers[order_id], at).items() if c} == expected, (order_id, at)


async def test_the_drill_down_lists_the_orders_behind_the_figures() -> None:
    models, _ = fold(events())
    result = await queries(models).kpis("fulfillment", *RANGE, explain=True, limit=1000)
    assert {row["order_id"] for row in result["orders"]} == {f"O{n}" for n in range(1, 8)}
    assert result["rows_total"] == len(result["orders"]) and "next_cursor" not in result
    placed = {row["order_id"]: row for row in result["orders"] if "perfect_order" in row}
    assert {o for o, row in placed.items() if row["perfect_order"]["score"] == "perfect"} == {"O1", "O7"}
    assert placed["O2"]["perfect_order"] == {
        "score": "imperfect",
        "on_time": False,
        "in_full": True,
        "not_damaged": True,
    }
    assert placed["O2"]["contributes"]["split"] == 1


async def test_the_rows_of_a_day_add_up_to_its_figures() -> None:
    models, _ = fold(events())
    result = await queries(models).kpis("returns", *RANGE, explain=True, by="day", limit=1000)
    for period in result["periods"]:
        rows = [row for row in result["orders"] if row["day"] == period["period"]]
        returned = sum(v for row in rows for k, v in row["contributes"].items() if k.startswith("returned_condition|"))
        delivered = sum(v for row in rows for k, v in row["contributes"].items() if k.startswith("delivered_units|"))
        assert (returned, delivered) == (period["returned_units"], period["delivered_units"]), period["period"]


async def test_drill_down_pages_follow_the_cursor_to_the_end() -> None:
    models, _ = fold(events())
    q = queries(models)
    whole = (await q.kpis("fulfillment", *RANGE, explain=True, limit=1000))["orders"]
    pages, cursor = [], None
    while True:
        page = await q.kpis("fulfillment", *RANGE, explain=True, limit=4, cursor=cursor)
        assert len(page["orders"]) <= 4
        pages.append(page["orders"])
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    assert [row for page in pages for row in page] == whole
    assert len(pages) == -(-len(whole) // 4)


def _without_ages(found: dict[str, Any]) -> dict[str, Any]:
    # Open cases' ages are judged at the query's time: `now` for the live figures, `as_of` for the past ones.
    return {k: v for k, v in found.items() if k != "open_cases_by_age"}


async def _as_of_figures(models: dict[int, PartitionModel], as_of: str | None) -> dict[str, Any]:
    q = queries(models)
    found: dict[str, Any] = {family: (await q.kpis(family, *RANGE, as_of=as_of))["total"] for family in FAMILIES}
    found["support"] = _without_ages(found["support"])
    return found


@pytest.mark.parametrize("batch", [1, 2, 3, 5, 1000])
async def test_the_figures_as_of_any_time_are_those_of_the_events_that_occurred_by_then(batch: int) -> None:
    """Whatever order the events came in (shuffled; one by one, in small batches, or all in one batch)."""
    scenario = events()
    shuffled = list(scenario)
    random.Random(5).shuffle(shuffled)
    models, _ = fold(shuffled, batch=batch)
    times = sorted({event.occurred_at for event in scenario})
    for at in [*times, "2026-11-04T23:59:59.999999Z"]:
        as_of = at.replace("Z", ".000000Z") if len(at) == 20 else at
        known_then, _ = fold([event for event in scenario if event.occurred_at <= at])
        assert await _as_of_figures(models, as_of) == await _as_of_figures(known_then, None), at


async def test_an_event_after_a_late_one_in_its_batch_still_bounds_what_is_in_time_order() -> None:
    """O2's placement arrives late, in the batch of its delivery; its dispatch (earlier than that delivery) comes
    next: the figures as of each of its times are those of the events that occurred by then."""
    scenario = events()
    o2 = sorted((e for e in scenario if e.key == "O2"), key=lambda e: e.occurred_at)
    placed, reserved, created, created_too, dispatched, delivered, *later = o2
    models, _ = fold([e for e in scenario if e.key != "O2"], batch=1000)
    for batch in ([reserved, created, created_too], [placed, delivered], [dispatched], later):
        models, _ = fold(batch, models, batch=1000)
    for event in o2:
        known_then, _ = fold([e for e in scenario if e.occurred_at <= event.occurred_at])
        as_of = event.occurred_at.replace("Z", ".000000Z")
        assert await _as_of_figures(models, as_of) == await _as_of_figures(known_then, None), event.occurred_at


async def test_a_late_return_leaves_the_figures_as_of_before_it_unchanged() -> None:
    """O7's return was received on 11-09: the returns of 11-02 .. 11-09 as of 11-08 noon are those known then."""
    scenario = events()
    late = next(e for e in scenario if e.type == "ReturnReceived" and e.key == "O7")
    before, _ = fold([e for e in scenario if e is not late])
    before_figures = (await queries(before).kpis("returns", *RANGE))["total"]
    models, _ = fold([late], before)
    q = queries(models)
    assert (await q.kpis("returns", *RANGE))["total"]["returned_units"] == before_figures["returned_units"] + 1
    as_of = (await q.kpis("returns", *RANGE, as_of="2026-11-08T12:00:00.000000Z"))["total"]
    assert as_of == before_figures
    assert (await q.kpis("returns", *RANGE, as_of="2026-11-09T10:00:00.000000Z"))["total"] == (
        await q.kpis("returns", *RANGE)
    )["total"]


async def test_daily_periods_add_up_to_the_range() -> None:
    models, _ = fold(events())
    result = await queries(models).kpis("fulfillment", *RANGE, by="day")
    assert [p["period"] for p in result["periods"]][:2] == ["2026-11-02", "2026-11-03"]
    assert sum(p["orders"] for p in result["periods"]) == 7
    assert sum(p["shipments_dispatched"] for p in result["periods"]) == 6
    weekly = await queries(models).kpis("fulfillment", *RANGE, by="week")
    assert [p["period"] for p in weekly["periods"]] == ["2026-W45", "2026-W46"]


@pytest.mark.parametrize("hour, expected", [(13, "2026-11-03"), (14, "2026-11-04")])
def test_the_cutoff_hour_moves_the_ship_by_day(hour: int, expected: str) -> None:
    rule = settings().ship_by_rule()
    assert rule.ship_by(f"2026-11-02T{hour:02d}:30:00.000000Z", "standard").isoformat() == expected
