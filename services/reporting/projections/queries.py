"""The KPI queries: day buckets summed over partitions and periods, then the formulas of `domain.kpis`.

Nothing here scans orders: a figure reads one bucket per partition and day (cached by version). A drill-down
(`explain`) reads the orders listed for those days and shows what each contributed.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Literal

from services.reporting.domain import customers as customer_figures
from services.reporting.domain import kpis
from services.reporting.domain.contributions import FAMILY_PREFIXES, ROWS
from services.reporting.domain.kpis import Tally
from services.reporting.domain.periods import By, Period, split
from services.reporting.domain.rules import ShipByRule
from services.reporting.domain.stock import ReplenishmentPolicy, inventory_row, known_at, replenishment
from services.reporting.projections.customer_ledger import CustomerLedger
from services.reporting.projections.day_sums import DaySums
from services.reporting.projections.reader import ReadModelReader
from services.reporting.projections.store import Rows

Family = Literal["fulfillment", "inventory", "returns", "customers", "support"]
FAMILIES: tuple[Family, ...] = ("fulfillment", "inventory", "returns", "customers", "support")

PREFIXES: dict[Family, tuple[str, ...]] = {family: FAMILY_PREFIXES[family] for family in FAMILIES}
DRILL_DOWN_LIMIT = 5_000
DAY_ROWS_CACHED = 64
STOCK_AS_OF_CACHED = 16
DayRow = tuple[str, dict[str, int]]


def same_objects(kept: list[Any], now: list[Any]) -> bool:
    """Whether the reader handed out the very objects a kept result was made from (it hands out the same object
    while what it read stays as it is)."""
    return len(kept) == len(now) and all(a is b for a, b in zip(kept, now, strict=True))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class KpiQueries:
    def __init__(self, reader: ReadModelReader, rule: ShipByRule, policy: ReplenishmentPolicy) -> None:
        self.reader = reader
        self.rule = rule
        self.policy = policy
        self.customers = CustomerLedger()
        self.sums = DaySums()
        self._stock: OrderedDict[tuple[str, str], tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]] = (
            OrderedDict()
        )
        self._rows: OrderedDict[tuple[str, str, tuple[str, ...], str | None], tuple[list[Rows], list[DayRow]]] = (
            OrderedDict()
        )

    async def kpis(
        self,
        family: Family,
        start: date,
        end: date,
        by: By | None = None,
        explain: bool = False,
        limit: int = 100,
        generation: str | None = None,
        as_of: str | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """`as_of`: a fixed-width UTC time (`iso`): the figures as known then (only events that occurred by then).
        `cursor`: where the previous page of the drill-down ended."""
        gen = await self.reader.generation(generation)
        # Lifetime values, and the support cases open at `as_of`, need every day before the range too.
        whole = family == "customers" or (family == "support" and as_of is not None)
        first = date.min.isoformat() if whole else start.isoformat()
        # The cases open at `as_of` were opened by then: the days up to it, beyond the range too.
        last = max(end.isoformat(), as_of[:10]) if family == "support" and as_of is not None else end.isoformat()
        days = await self.reader.days(gen, first, last, customers=family == "customers", as_of=as_of)
        figure = await self._figure_fn(family, gen, days, as_of)
        result: dict[str, Any] = {
            "kpi": family,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "generation": gen,
            **({"as_of": as_of} if as_of is not None else {}),
            "total": figure(Period("total", start, end)),
        }
        if family == "fulfillment":
            result["ship_by_rule"] = self.rule.describe()
        if by is not None:
            result["by"] = by
            result["periods"] = [{"period": p.label, "from": p.start.isoformat(), "to": p.end.isoformat(), **figure(p)}
                                 for p in split(start, end, by)]  # fmt: skip
        if explain:
            page = await self.explain(gen, family, start, end, days, limit, cursor, as_of)
            result.update(page)
        return result

    async def _figure_fn(
        self, family: Family, gen: str, days: Mapping[str, Mapping[str, int]], as_of: str | None = None
    ) -> Callable[[Period], dict[str, Any]]:
        def added(counters: Mapping[str, Mapping[str, int]], wanted: Iterable[str]) -> Tally:
            return self.sums.total([counters[day] for day in wanted if day in counters])

        def summed(period: Period) -> Tally:
            return added(days, period.days())

        if family == "fulfillment":
            return lambda p: kpis.fulfillment(summed(p))
        if family == "returns":
            return lambda p: kpis.returns(summed(p))
        if family == "customers":
            split = {day: self.customers.day(counters) for day, counters in days.items()}

            general = {day: found.general for day, found in split.items()}

            def customers(p: Period) -> dict[str, Any]:
                end = p.end.isoformat()
                lifetime = self.customers.top((gen, as_of, end), {d: c for d, c in split.items() if d <= end})
                period = customer_figures.buyers(split[day] for day in p.days() if day in split)
                return kpis.customers(added(general, p.days()), lifetime, period)

            return customers
        if family == "support" and as_of is not None:
            cases = kpis.open_cases(added(days, sorted(d for d in days if d <= as_of[:10])))
            return lambda p: kpis.support(summed(p), cases, as_of)
        states = await self.reader.states(gen)
        if family == "support":
            open_cases = [
                case for state in states for item in state["attention"].values() for case in item["open_cases"]
            ]
            return lambda p: kpis.support(summed(p), open_cases, now_iso())
        stock = (
            {name: item for state in states for name, item in state["stock"].items()}
            if as_of is None
            else await self._stock_as_of(gen, states, as_of)
        )

        def inventory(p: Period) -> dict[str, Any]:
            counters = summed(p)
            backordered = kpis.by_part(counters, "bo_units", 0)
            backorders = kpis.by_part(counters, "bo_orders", 0)
            rows = []
            for _, item in sorted(stock.items()):
                row = inventory_row(item["days"], p.start, p.end, item["available"])
                rows.append(
                    {
                        "sku": item["sku"],
                        "warehouse": item["warehouse"],
                        **row,
                        "backordered_units": backordered[item["sku"]],
                        "backordered_orders": backorders[item["sku"]],
                    }
                )
            return {"items": rows}

        return inventory

    async def _stock_as_of(self, gen: str, states: list[dict[str, Any]], as_of: str) -> dict[str, dict[str, Any]]:
        """Every stock item as known at `as_of` (read-only), kept while the reader hands out the same states: a
        partition's stock levels change only with its state (`ReadModelReader.levels`), and replaying a day's
        levels for every sku x warehouse was most of an inventory query as of a time."""
        key = (gen, as_of)
        cached = self._stock.get(key)
        if cached is None or not same_objects(cached[0], states):
            day_levels = await self.reader.levels(gen, as_of[:10])
            stock = {}
            for state in states:
                for name, item in state["stock"].items():
                    item_days, available = known_at(item["days"], day_levels.get(name), as_of)
                    if available is not None:
                        stock[name] = {**item, "days": item_days, "available": available}
            cached = (list(states), stock)
            self._stock[key] = cached
        self._stock.move_to_end(key)
        while len(self._stock) > STOCK_AS_OF_CACHED:
            self._stock.popitem(last=False)
        return cached[1]

    async def replenishment(self, generation: str | None = None, today: date | None = None) -> dict[str, Any]:
        gen = await self.reader.generation(generation)
        end = today or datetime.now(UTC).date()
        rows = []
        for state in await self.reader.states(gen):
            for item in state["stock"].values():
                figures = replenishment(item["sku"], item["days"], item["available"], end, self.policy)
                rows.append({"sku": item["sku"], "warehouse": item["warehouse"], **figures})
        rows.sort(key=lambda r: (r["days_of_supply"] is None, r["days_of_supply"] or 0.0, r["sku"], r["warehouse"]))
        return {
            "as_of": end.isoformat(),
            "window_days": self.policy.window_days,
            "service_level": self.policy.service_level,
            "z": round(self.policy.z, 4),
            "cover_days": self.policy.cover_days,
            "items": rows,
            "order_now": [r for r in rows if r["below_reorder_point"]],
        }

    async def attention(self, generation: str | None = None) -> list[dict[str, Any]]:
        gen = await self.reader.generation(generation)
        return [
            {"order_id": order_id, **item}
            for state in await self.reader.states(gen)
            for order_id, item in sorted(state["attention"].items())
        ]

    async def explain(
        self,
        gen: str,
        family: Family,
        start: date,
        end: date,
        days: Mapping[str, Mapping[str, int]],
        limit: int,
        cursor: str | None = None,
        as_of: str | None = None,
    ) -> dict[str, Any]:
        """The orders behind the figures, one row per order and day it contributed to (what it added that day),
        by day then order id, a page of `limit` rows from after `cursor` ("<day>|<order id>"). Only the days that
        hold such rows are read, each one once (its rows in every partition), so a page costs about `limit` rows
        plus one day's rows: never the whole history."""
        prefixes = PREFIXES[family]
        counted = f"{ROWS}{family}"
        after_day, _, after_order = (cursor or "").partition("|")
        wanted = [d for d in Period("range", start, end).days() if d in days and days[d].get(counted, 0) > 0]
        total = sum(days[d][counted] for d in wanted)
        rows: list[dict[str, Any]] = []
        more = False
        for day in (d for d in wanted if d >= after_day):
            if len(rows) >= limit:
                more = True
                break
            for order_id, counters in await self._day_rows(gen, day, prefixes, as_of):
                if day == after_day and order_id <= after_order:
                    continue
                if len(rows) >= limit:
                    more = True
                    break
                row: dict[str, Any] = {"day": day, "order_id": order_id, "contributes": counters}
                if family == "fulfillment":
                    row.update(_perfect_order(counters))
                rows.append(row)
        page: dict[str, Any] = {"orders": rows, "rows_total": total}
        if more and rows:
            page["next_cursor"] = f"{rows[-1]['day']}|{rows[-1]['order_id']}"
        return page

    async def _day_rows(
        self, gen: str, day: str, prefixes: tuple[str, ...], as_of: str | None
    ) -> list[tuple[str, dict[str, int]]]:
        """A day's drill-down rows (read-only), kept while the reader hands out the same rows of every partition:
        a page re-reads the rows of the day it starts in, every order of it (~1,700 at 100,000 orders)."""
        by_partition = await self.reader.day_rows(gen, day)
        key = (gen, day, prefixes, as_of)
        cached = self._rows.get(key)
        if cached is None or not same_objects(cached[0], list(by_partition.values())):
            cached = (list(by_partition.values()), self._rows_of(by_partition, prefixes, as_of))
            self._rows[key] = cached
        self._rows.move_to_end(key)
        while len(self._rows) > DAY_ROWS_CACHED:
            self._rows.popitem(last=False)
        return cached[1]

    @staticmethod
    def _rows_of(
        by_partition: dict[int, Rows], prefixes: tuple[str, ...], as_of: str | None
    ) -> list[tuple[str, dict[str, int]]]:
        found: list[tuple[str, dict[str, int]]] = []
        for partition_rows in by_partition.values():
            for order_id, layers in partition_rows.items():
                counters: Counter[str] = Counter()
                for at, change in layers:
                    if as_of is not None and at > as_of:
                        break
                    counters.update({k: v for k, v in change.items() if k.startswith(prefixes)})
                kept = {k: v for k, v in sorted(counters.items()) if v}
                if kept:
                    found.append((order_id, kept))
        found.sort()
        return found


def _perfect_order(counters: dict[str, int]) -> dict[str, Any]:
    """The order's perfect-order score and its parts, from what it contributed on its placement day."""
    score = next((name.split("|")[1] for name in counters if name.startswith("perfect|")), None)
    if score is None:
        return {}
    parts = {part: bool(counters.get(f"perfect_part|{part}", 0)) for part in ("on_time", "in_full", "not_damaged")}
    return {"perfect_order": {"score": score, **(parts if score != "pending" else {})}}
