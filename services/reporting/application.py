"""The reporting read model of one partition: facts in memory, the day buckets derived from them.

`PartitionModel.fold` is the use case: load (the facts it holds) → decide (fold each event, recompute the order's
contributions and take the difference) → stage (`Changes`: what the adapter must write, and the events to
publish). It knows nothing of Kafka or MongoDB; the projection adapter loads it on assignment and persists its
changes after each batch. One owner per partition (the consumer group's), so it is the only writer of its
documents; every figure for all orders is the sum over partitions, done by readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from services.reporting.domain.attention import attention
from services.reporting.domain.contributions import Buckets, add_into, contributions, delta
from services.reporting.domain.facts import (
    STOCK_TYPE,
    Fact,
    Observed,
    available_now,
    fold_order,
    fold_stock,
    new_order,
    new_stock,
    stock_key,
)
from services.reporting.domain.rules import ShipByRule
from services.reporting.domain.stock import ReplenishmentPolicy, replenishment

STOCK_PREFIX = "stock:"
CROSSINGS = uuid5(NAMESPACE_URL, "fulfillment/reporting/reorder-point-crossed")


@dataclass(frozen=True)
class ReorderPointCrossed:
    event_id: str
    occurred_at: str
    sku: str
    warehouse: str
    available: int
    reorder_point: float
    suggested_quantity: int
    days_of_supply: float | None


@dataclass
class Changes:
    facts: dict[str, Fact] = field(default_factory=dict)
    days: set[str] = field(default_factory=set)
    member_days: set[str] = field(default_factory=set)
    state_changed: bool = False
    crossings: list[ReorderPointCrossed] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.facts or self.days or self.member_days or self.state_changed)


class PartitionModel:
    def __init__(self, partition: int, rule: ShipByRule, policy: ReplenishmentPolicy) -> None:
        self.partition = partition
        self.rule = rule
        self.policy = policy
        self.orders: dict[str, Fact] = {}
        self.stock: dict[str, Fact] = {}
        self.contributed: dict[str, Buckets] = {}
        self.buckets: Buckets = {}
        self.members: dict[str, set[str]] = {}
        self.attention: dict[str, dict[str, Any]] = {}
        self.version = 0
        self.day_versions: dict[str, int] = {}
        self.state_version = 0

    @classmethod
    def from_facts(
        cls, partition: int, facts: dict[str, Fact], rule: ShipByRule, policy: ReplenishmentPolicy, version: int = 0
    ) -> PartitionModel:
        model = cls(partition, rule, policy)
        model.version = version
        for fact_id, fact in facts.items():
            if fact_id.startswith(STOCK_PREFIX):
                model.stock[fact_id[len(STOCK_PREFIX) :]] = fact
            else:
                model.orders[fact_id] = fact
                model._recount(fact_id, fact)
        return model

    def fold(self, events: list[Observed]) -> Changes:
        changes = Changes()
        touched: set[str] = set()
        for event in events:
            if (event.source, event.type) == STOCK_TYPE:
                self._fold_stock(event, changes)
                continue
            order_id = event.order_id
            if order_id is None:
                continue
            fact = self.orders.get(order_id) or new_order(order_id)
            if fold_order(fact, event):
                self.orders[order_id] = fact
                touched.add(order_id)
        for order_id in sorted(touched):
            fact = self.orders[order_id]
            changes.facts[order_id] = fact
            days, member_days, attention_changed = self._recount(order_id, fact)
            changes.days |= days
            changes.member_days |= member_days
            changes.state_changed |= attention_changed
        if changes:
            self.version += 1
            for day in changes.days:
                self.day_versions[day] = self.version
        return changes

    def _recount(self, order_id: str, fact: Fact) -> tuple[set[str], set[str], bool]:
        after = contributions(fact, self.rule)
        before = self.contributed.get(order_id, {})
        self.contributed[order_id] = after
        days = add_into(self.buckets, delta(before, after))
        member_days = set()
        for day in after.keys() - before.keys():
            self.members.setdefault(day, set()).add(order_id)
            member_days.add(day)
        now = attention(fact, self.rule)
        changed = self.attention.get(order_id) != now
        if now is None:
            self.attention.pop(order_id, None)
        else:
            self.attention[order_id] = now
        return days, member_days, changed

    def _fold_stock(self, event: Observed, changes: Changes) -> None:
        name = stock_key(event.data["sku"], event.data["warehouse"])
        fact = self.stock.get(name) or new_stock(event.data["sku"], event.data["warehouse"])
        if not fold_stock(fact, event):
            return
        self.stock[name] = fact
        changes.facts[STOCK_PREFIX + name] = fact
        changes.state_changed = True
        crossed = self._crossing(fact, event.occurred_at)
        if crossed is not None:
            changes.crossings.append(crossed)

    def _crossing(self, fact: Fact, at: str) -> ReorderPointCrossed | None:
        """Available falling below the reorder point is one crossing; rising to it or above re-arms it. The n-th
        crossing of a sku x warehouse has a fixed event id, so a replay or redelivery re-sends the same event."""
        figures = replenishment(
            fact["sku"], fact["days"], available_now(fact), date.fromisoformat(at[:10]), self.policy
        )
        state = fact.setdefault("crossing", {"below": False, "count": 0})
        below = bool(figures["below_reorder_point"])
        if below == state["below"]:
            return None
        state["below"] = below
        if not below:
            return None
        state["count"] += 1
        name = stock_key(fact["sku"], fact["warehouse"])
        return ReorderPointCrossed(
            event_id=str(uuid5(CROSSINGS, f"{name}#{state['count']}")),
            occurred_at=at,
            sku=fact["sku"],
            warehouse=fact["warehouse"],
            available=figures["available"],
            reorder_point=figures["reorder_point"],
            suggested_quantity=figures["suggested_quantity"],
            days_of_supply=figures["days_of_supply"],
        )

    def state(self) -> dict[str, Any]:
        """What readers need beside the buckets: stock figures per sku x warehouse, and what needs attention."""
        return {
            "stock": {
                name: {
                    "sku": fact["sku"],
                    "warehouse": fact["warehouse"],
                    "available": available_now(fact),
                    "days": fact["days"],
                }
                for name, fact in self.stock.items()
            },
            "attention": self.attention,
        }
