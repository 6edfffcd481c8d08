"""`DaySums` adds days of counters exactly as `Counter.update` day by day did, whatever was kept from before."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from services.reporting.domain import kpis
from services.reporting.projections import day_sums
from services.reporting.projections.day_sums import DaySums

NAMES = [f"cyc|delivered|W{w}|K{k}|{m}" for w in range(3) for k in range(2) for m in (15, 60, 120)] + [
    "orders", "ship|W0|K0", "returned|A|size", "case_open|late|2026-10-01T10:00:00.000000Z"
]  # fmt: skip


def random_day(rng: random.Random) -> dict[str, int]:
    return {name: rng.randint(1, 9) for name in rng.sample(NAMES, rng.randint(0, len(NAMES)))}


def expected(days: list[dict[str, int]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for counters in days:
        total.update(counters)
    return total


def test_any_period_adds_up_to_the_counter_sum_and_a_changed_day_is_followed() -> None:
    rng = random.Random(3)
    sums = DaySums()
    days = {f"2026-10-{n:02d}": random_day(rng) for n in range(1, 29)}
    for _ in range(200):
        if rng.random() < 0.2:  # a day's buckets changed: the reader hands out new counters
            day = rng.choice(sorted(days))
            days[day] = random_day(rng)
        first = rng.randrange(len(days))
        wanted = sorted(days)[first : first + rng.randint(1, 10)]
        found = sums.total([days[day] for day in wanted])
        assert dict(found) == dict(expected([days[day] for day in wanted]))
        assert kpis.fulfillment(found) == kpis.fulfillment(expected([days[day] for day in wanted]))


def test_a_day_with_a_negative_counter_keeps_a_name_that_adds_up_to_zero() -> None:
    sums = DaySums()
    days = [{"net_cents": 500, "orders": 1}, {"net_cents": -500}]
    found = sums.total(days)
    assert dict(found) == dict(expected(days)) == {"net_cents": 0, "orders": 1}


def test_an_index_grown_too_large_starts_afresh_with_the_same_sums(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(day_sums, "MOST_NAMES", 5)
    rng = random.Random(4)
    sums = DaySums()
    for _ in range(30):
        days = [random_day(rng) for _ in range(3)]
        assert dict(sums.total(days)) == dict(expected(days))
    assert len(sums.names) <= 5 + len(NAMES)
