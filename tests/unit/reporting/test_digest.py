"""Digests: which periods are due, the change against the previous period, and what counts as an exception."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.reporting.digests.schedule import due_periods
from services.reporting.domain.digest import DigestPeriod, exceptions, has_data, headlines


def test_yesterday_is_due_from_the_digest_hour_and_a_week_once_it_ended() -> None:
    monday_early = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)
    assert [p.report_id for p in due_periods(monday_early, hour=1, since=None)] == ["daily-2026-11-28"]
    monday_later = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    assert [p.report_id for p in due_periods(monday_later, hour=1, since=None)] == [
        "daily-2026-11-29",
        "weekly-2026-W48",
    ]


def test_a_backfill_covers_every_day_and_every_ended_week_since() -> None:
    due = {p.report_id for p in due_periods(datetime(2026, 11, 12, 6, tzinfo=UTC), hour=1, since=date(2026, 11, 2))}
    assert due == {f"daily-2026-11-{d:02d}" for d in range(2, 12)} | {"weekly-2026-W45"}


def test_a_weekly_digest_compares_with_the_week_before() -> None:
    week = DigestPeriod.weekly(date(2026, 11, 5))
    assert (week.start, week.end, week.previous) == (
        date(2026, 11, 2),
        date(2026, 11, 8),
        (date(2026, 10, 26), date(2026, 11, 1)),
    )


def test_the_change_is_value_minus_previous_and_none_without_both() -> None:
    current = {"fulfillment": {"orders": 7, "on_time_ship_rate": 0.5}}
    previous = {"fulfillment": {"orders": 4, "on_time_ship_rate": None}}
    rows = {row["kpi"]: row for row in headlines(current, previous)}
    assert (rows["orders placed"]["change"], rows["on-time ship rate"]["change"]) == (3, None)
    assert has_data(current) and not has_data({"fulfillment": {"orders": 0}})


def test_exceptions_are_judged_at_the_time_the_digest_is_made() -> None:
    now = datetime(2026, 11, 10, 12, tzinfo=UTC)
    attention = [
        {
            "order_id": "O1",
            "shipments": [
                {"shipment_id": "S1", "dispatched_at": None, "ship_by": "2026-11-09", "promised": "2026-11-12",
                 "exception_at": None},
                {"shipment_id": "S2", "dispatched_at": "2026-11-08T10:00:00Z", "ship_by": "2026-11-09",
                 "promised": "2026-11-11", "exception_at": "2026-11-09T08:00:00Z"},
            ],
            "awaiting_refund": [],
            "open_cases": [{"case_id": "K1", "category": "other", "opened_at": "2026-11-10T06:00:00Z"}],
        }
    ]  # fmt: skip
    found = exceptions(attention, [{"sku": "A", "warehouse": "W", "available": 0}], [], now, case_target_hours=4)
    assert [s["shipment_id"] for s in found["late_shipments"]] == ["S1"]  # not dispatched by its ship-by day
    assert [s["shipment_id"] for s in found["exception_shipments"]] == ["S2"]
    assert [c["case_id"] for c in found["cases_past_target"]] == ["K1"]  # open 6 h, target 4 h
    assert found["stock_outs"] == [{"sku": "A", "warehouse": "W", "available": 0}]
