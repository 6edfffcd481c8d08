"""The pure formulas: duration classes and percentiles, rates without data, stock-out days, reorder points."""

from __future__ import annotations

import math
from datetime import date
from statistics import NormalDist

import pytest

from services.reporting.domain import kpis
from services.reporting.domain.contributions import combined, with_rows
from services.reporting.domain.periods import split
from services.reporting.domain.rules import duration_class, percentile
from services.reporting.domain.stock import ReplenishmentPolicy, inventory_row, replenishment


@pytest.mark.parametrize(
    "minutes, upper",
    [(0, 0), (0.5, 5), (5, 5), (61, 75), (1440, 1440), (1441, 1500), (7 * 1440 + 1, 7 * 1440 + 360)],
)
def test_a_duration_falls_in_the_class_named_by_its_upper_bound(minutes: float, upper: int) -> None:
    assert duration_class(minutes) == upper


def test_percentiles_are_nearest_rank_over_the_classes() -> None:
    histogram = {10: 3, 30: 1, 1440: 1}
    assert percentile(histogram, 0.5) == 10  # rank 3 of 5
    assert percentile(histogram, 0.9) == 1440  # rank 5 of 5
    assert percentile({}, 0.5) is None


def test_a_rate_without_a_denominator_is_no_data_not_zero() -> None:
    figures = kpis.fulfillment({})
    assert figures["on_time_ship_rate"] is None
    assert figures["perfect_order_rate"] is None
    assert kpis.customers({}, [])["aov"] is None


def test_a_stock_out_carried_over_days_without_changes_counts_every_day() -> None:
    days = {"2026-11-01": {"min": 0, "close": 0, "out": 2, "demand": 0}}
    row = inventory_row(days, date(2026, 11, 2), date(2026, 11, 4), available_now=0)
    assert row["stock_out_days"] == 3
    assert row["days_of_supply"] is None  # nothing went out in the range


def test_reorder_point_is_lead_time_demand_plus_z_sigma_root_lead_time() -> None:
    days = {f"2026-11-{d:02d}": {"min": 5, "close": 5, "out": 0, "demand": q} for d, q in [(1, 4), (2, 0), (3, 2)]}
    policy = ReplenishmentPolicy(window_days=3, default_lead_time_days=4, service_level=0.9, cover_days=10)
    figures = replenishment("X", days, available=5, end=date(2026, 11, 3), policy=policy)
    mean, sigma = 2.0, math.sqrt(((4 - 2) ** 2 + (0 - 2) ** 2 + 0) / 3)
    safety = NormalDist().inv_cdf(0.9) * sigma * math.sqrt(4)
    assert figures["reorder_point"] == round(mean * 4 + safety, 2)
    assert figures["below_reorder_point"] is True
    assert figures["suggested_quantity"] == math.ceil(mean * 14 + safety - 5)


def test_months_and_weeks_are_clipped_to_the_range() -> None:
    months = split(date(2026, 11, 20), date(2027, 1, 5), "month")
    assert [(p.label, p.start.day, p.end.day) for p in months] == [
        ("2026-11", 20, 30),
        ("2026-12", 1, 31),
        ("2027-01", 1, 5),
    ]
    weeks = split(date(2026, 11, 4), date(2026, 11, 10), "week")
    assert [p.label for p in weeks] == ["2026-W45", "2026-W46"]


def test_an_order_counts_as_a_row_of_a_day_while_it_adds_to_one_of_the_family_s_counters_there() -> None:
    case, note = "case_open|late_delivery|2026-11-02T10:00:00.000000Z", "case_opened|late_delivery"
    before = combined({"cases": {"2026-11-02": {case: 1, note: 1}}})
    assert before["2026-11-02"]["rows|support"] == 1
    # One of its two support counters leaves the day: still a row; then the other one: no longer.
    assert with_rows(before, {"2026-11-02": {case: -1}}) == {"2026-11-02": {case: -1}}
    assert with_rows(before, {"2026-11-02": {case: -1, note: -1}}) == {
        "2026-11-02": {case: -1, note: -1, "rows|support": -1}
    }
    # A counter of another family arriving makes it a row of that family too.
    assert with_rows(before, {"2026-11-02": {"orders": 1}}) == {"2026-11-02": {"orders": 1, "rows|fulfillment": 1}}
