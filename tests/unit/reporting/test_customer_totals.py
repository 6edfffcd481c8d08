"""The customer aggregates (`domain.customers`, `CustomerLedger`) give what adding every customer's counters of
every day gave: `kpis.per_customer` of the summed counters, over any range and as of any time."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import pytest

from services.reporting.domain import kpis
from services.reporting.domain.customers import CustomerDay, Totals, buyers
from services.reporting.projections.customer_ledger import CustomerLedger
from tests.reporting_scenario import END, START, events
from tests.unit.reporting.models import ModelsReader, fold
from tests.unit.reporting.test_scenario_kpis import queries

Days = dict[str, dict[str, int]]


def random_days(seed: int, days: int = 20, customers: int = 40) -> Days:
    """Days of counters as buckets hold them: some general ones, and per customer who ordered that day its orders
    and net (a full refund leaves no net counter; now and then a net without orders, and a net below zero)."""
    rng = random.Random(seed)
    found: Days = {}
    first = date(2026, 10, 1)
    for n in range(days):
        counters = {"kept_orders": rng.randint(0, 50), "net_cents": rng.randint(0, 9_000)}
        for customer in rng.sample(range(customers), rng.randint(0, customers // 2)):
            orders = rng.choice((1, 1, 1, 2, 3))
            net = rng.choice((0, 500, 1_000, 1_999, rng.randint(-300, 20_000)))
            if rng.random() < 0.95:
                counters[f"cust|C{customer:03d}|orders"] = orders
            if net:
                counters[f"cust|C{customer:03d}|net"] = net
        found[(first + timedelta(days=n)).isoformat()] = {k: v for k, v in counters.items() if v}
    return found


def summed(days: Mapping[str, Mapping[str, int]], wanted: list[str]) -> Counter[str]:
    total: Counter[str] = Counter()
    for day in wanted:
        total.update(days.get(day, {}))
    return total


def expected_buyers(counters: Counter[str]) -> tuple[int, int]:
    period = kpis.per_customer(counters)
    found = [c for c, v in period.items() if v["orders"] > 0]
    return len(found), sum(1 for c in found if period[c]["orders"] >= 2)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_buyers_of_any_range_are_those_of_the_summed_counters(seed: int) -> None:
    days = random_days(seed)
    split = {day: CustomerDay.of(counters) for day, counters in days.items()}
    names = sorted(days)
    for start in range(0, len(names), 3):
        for end in range(start, len(names), 4):
            wanted = names[start : end + 1]
            assert buyers(split[d] for d in wanted) == expected_buyers(summed(days, wanted)), (start, end)


def test_a_negative_order_count_falls_back_to_adding_the_counts() -> None:
    days = {"2026-10-01": {"cust|A|orders": 2, "cust|B|orders": 1}, "2026-10-02": {"cust|A|orders": -1}}
    split = [CustomerDay.of(counters) for counters in days.values()]
    assert split[1].buyers is None
    assert buyers(split) == expected_buyers(summed(days, list(days))) == (2, 0)


@pytest.mark.parametrize("seed", [4, 5])
def test_totals_moved_between_sets_of_days_rank_as_the_sum_of_those_days(seed: int) -> None:
    """Ranges growing and shrinking, and days replaced by other counters (a day as known at another time)."""
    rng = random.Random(seed)
    days = random_days(seed)
    other = random_days(seed + 100)
    names = sorted(days)
    totals = Totals()
    for _ in range(40):
        end = rng.randrange(len(names))
        replaced = set(rng.sample(names[: end + 1], min(end + 1, rng.randint(0, 3))))
        source = {d: (other if d in replaced else days)[d] for d in names[: end + 1]}
        totals.move_to({d: CustomerDay.of(counters) for d, counters in source.items()})
        expected = kpis.top_customers(kpis.per_customer(summed(source, list(source))))
        assert totals.top() == expected
        assert totals.top(50) == kpis.top_customers(kpis.per_customer(summed(source, list(source))), 50)


def test_the_ledger_keeps_each_key_apart_and_follows_a_changed_day() -> None:
    days = random_days(6)
    names = sorted(days)
    ledger = CustomerLedger()
    split = {d: ledger.day(counters) for d, counters in days.items()}
    assert ledger.day(days[names[0]]) is split[names[0]]

    def expect(wanted: list[str], source: Days) -> list[dict[str, Any]]:
        return kpis.top_customers(kpis.per_customer(summed(source, wanted)))

    assert ledger.top(("g0", None, names[-1]), split) == expect(names, days)
    early = {d: split[d] for d in names[:8]}
    assert ledger.top(("g0", None, names[7]), early) == expect(names[:8], days)
    # The last day changed (new counters): the whole range follows, the earlier range is kept as it was.
    changed = dict(days)
    changed[names[-1]] = {**days[names[-1]], "cust|C999|orders": 5, "cust|C999|net": 10**7}
    split[names[-1]] = ledger.day(changed[names[-1]])
    assert ledger.top(("g0", None, names[-1]), split) == expect(names, changed)
    assert ledger.top(("g0", None, names[-1]), split)[0]["customer_id"] == "C999"
    assert ledger.top(("g0", None, names[7]), early) == expect(names[:8], days)


async def test_the_scenarios_customer_figures_over_every_range_and_as_of_every_time_are_the_summed_ones() -> None:
    """Through `KpiQueries`: as the per-day sum of the customers' counters gave them, ranges and times mixed in
    one process (its ledger moving its totals from one to the next)."""
    models, _ = fold(events())
    reader = ModelsReader(models)
    q = queries(models)
    first, last = date.fromisoformat(START), date.fromisoformat(END)
    times = [None, *sorted({e.occurred_at.replace("Z", ".000000Z") for e in events()})]
    for as_of in times:
        for length in (0, 1, 3, 7):
            for start in (first + timedelta(days=n) for n in range((last - first).days - length + 1)):
                end = start + timedelta(days=length)
                found = (await q.kpis("customers", start, end, as_of=as_of))["total"]
                days = await reader.days("g0", date.min.isoformat(), end.isoformat(), customers=True, as_of=as_of)
                period = summed(days, [(start + timedelta(days=n)).isoformat() for n in range(length + 1)])
                lifetime = kpis.top_customers(kpis.per_customer(summed(days, list(days))))
                assert found == kpis.customers(period, lifetime), (start, end, as_of)
