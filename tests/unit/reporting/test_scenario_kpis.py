"""The hand-built scenario through the service's edge and partition models: exactly the expected figures."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from typing import Any

import pytest

from services.reporting.application import PartitionModel
from services.reporting.projections.queries import KpiQueries
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


async def test_the_drill_down_lists_the_orders_behind_the_figures() -> None:
    models, _ = fold(events())
    result = await queries(models).kpis("fulfillment", *RANGE, explain=True)
    assert result["orders_total"] == 7
    perfect = {row["order_id"] for row in result["orders"] if row["perfect_order"]["score"] == "perfect"}
    assert perfect == {"O1", "O7"}
    o2 = next(row for row in result["orders"] if row["order_id"] == "O2")
    assert o2["perfect_order"] == {"score": "imperfect", "on_time": False, "in_full": True, "not_damaged": True}
    assert o2["contributes"]["split"] == 1


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
