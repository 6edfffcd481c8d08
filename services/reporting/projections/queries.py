"""The KPI queries: day buckets summed over partitions and periods, then the formulas of `domain.kpis`.

Nothing here scans orders: a figure reads one bucket per partition and day (cached by version). A drill-down
(`explain`) reads the orders listed for those days and shows what each contributed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Literal

from services.reporting.domain import kpis
from services.reporting.domain.contributions import contributions, perfect_score
from services.reporting.domain.periods import By, Period, split
from services.reporting.domain.rules import ShipByRule
from services.reporting.domain.stock import ReplenishmentPolicy, inventory_row, replenishment
from services.reporting.projections.reader import ReadModelReader

Family = Literal["fulfillment", "inventory", "returns", "customers", "support"]
FAMILIES: tuple[Family, ...] = ("fulfillment", "inventory", "returns", "customers", "support")

# Which counters make up each family, for drill-downs.
PREFIXES: dict[Family, tuple[str, ...]] = {
    "fulfillment": (
        "orders", "units", "cancelled", "backordered", "shipped_orders", "fill_", "split", "perfect|", "ship|",
        "ship_on_time|", "delivered|", "delivered_on_time|", "cyc|reserved|", "cyc|dispatched|", "cyc|delivered|",
    ),
    "inventory": ("bo_units|", "bo_orders|"),
    "returns": ("returns_received", "returned|", "returned_condition|", "delivered_units|", "refund", "cyc|refund|"),
    "customers": ("kept_orders", "net_cents", "gross_cents", "cust|"),
    "support": ("case_opened|", "case_resolved|", "cyc|first_response|", "cyc|resolution|"),
}  # fmt: skip


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class KpiQueries:
    def __init__(self, reader: ReadModelReader, rule: ShipByRule, policy: ReplenishmentPolicy) -> None:
        self.reader = reader
        self.rule = rule
        self.policy = policy
        self._lifetime: tuple[Any, list[dict[str, Any]]] | None = None

    async def kpis(
        self,
        family: Family,
        start: date,
        end: date,
        by: By | None = None,
        explain: bool = False,
        limit: int = 100,
        generation: str | None = None,
    ) -> dict[str, Any]:
        gen = await self.reader.generation(generation)
        first = date(1970, 1, 1).isoformat() if family == "customers" else start.isoformat()
        days = await self.reader.days(gen, first, end.isoformat(), customers=family == "customers")
        figure = await self._figure_fn(family, gen, days)
        result: dict[str, Any] = {
            "kpi": family,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "generation": gen,
            "total": figure(Period("total", start, end)),
        }
        if family == "fulfillment":
            result["ship_by_rule"] = self.rule.describe()
        if by is not None:
            result["by"] = by
            result["periods"] = [{"period": p.label, "from": p.start.isoformat(), "to": p.end.isoformat(), **figure(p)}
                                 for p in split(start, end, by)]  # fmt: skip
        if explain:
            result["orders"], result["orders_total"] = await self.explain(gen, family, start, end, limit)
        return result

    async def _figure_fn(
        self, family: Family, gen: str, days: dict[str, Counter[str]]
    ) -> Callable[[Period], dict[str, Any]]:
        def summed(period: Period) -> Counter[str]:
            total: Counter[str] = Counter()
            for day in period.days():
                total.update(days.get(day, {}))
            return total

        if family == "fulfillment":
            return lambda p: kpis.fulfillment(summed(p))
        if family == "returns":
            return lambda p: kpis.returns(summed(p))
        if family == "customers":

            def customers(p: Period) -> dict[str, Any]:
                return kpis.customers(summed(p), self._lifetime_top(gen, days, p.end.isoformat()))

            return customers
        states = await self.reader.states(gen)
        if family == "support":
            open_cases = [
                case for state in states for item in state["attention"].values() for case in item["open_cases"]
            ]
            return lambda p: kpis.support(summed(p), open_cases, now_iso())
        stock = {name: item for state in states for name, item in state["stock"].items()}

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

    def _lifetime_top(self, gen: str, days: dict[str, Counter[str]], end: str) -> list[dict[str, Any]]:
        """Top customers by net revenue over every day up to `end`: recomputed only when one of those days changed."""
        before = sorted(day for day in days if day <= end)
        key = (gen, end, tuple((day, self.reader.signature(gen, day)) for day in before))
        if self._lifetime is None or self._lifetime[0] != key:
            to_date: Counter[str] = Counter()
            for day in before:
                to_date.update(days[day])
            self._lifetime = (key, kpis.top_customers(kpis.per_customer(to_date)))
        return self._lifetime[1]

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
        self, gen: str, family: Family, start: date, end: date, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        days = Period("range", start, end).days()
        members = await self.reader.members(gen, days)
        prefixes = PREFIXES[family]
        rows: list[dict[str, Any]] = []
        total = 0
        for partition, order_ids in sorted(members.items()):
            facts = await self.reader.facts(gen, partition) if order_ids else {}
            for order_id in order_ids:
                fact = facts.get(order_id)
                if fact is None:
                    continue
                counters: Counter[str] = Counter()
                for day, values in contributions(fact, self.rule).items():
                    if start.isoformat() <= day <= end.isoformat():
                        counters.update({k: v for k, v in values.items() if k.startswith(prefixes)})
                if not counters:
                    continue
                total += 1
                if len(rows) < limit:
                    row: dict[str, Any] = {"order_id": order_id, "contributes": dict(sorted(counters.items()))}
                    if family == "fulfillment" and fact["placed"] is not None:
                        score, parts = perfect_score(fact, self.rule)
                        row["perfect_order"] = {"score": score, **parts}
                    rows.append(row)
        rows.sort(key=lambda r: r["order_id"])
        return rows, total
