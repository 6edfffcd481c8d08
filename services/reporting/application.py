"""The reporting read model of one partition: facts in memory, the day buckets derived from them.

`PartitionModel.fold` is the use case: load (the facts it holds) → decide (fold each event, recompute the order's
contributions and take the difference) → stage (`Changes`: what the adapter must write, and the events to
publish). It knows nothing of Kafka or MongoDB; the projection adapter loads it on assignment and persists its
changes after each batch. One owner per partition (the consumer group's), so it is the only writer of its
documents; every figure for all orders is the sum over partitions, done by readers.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from services.reporting.domain.attention import attention
from services.reporting.domain.contributions import Buckets, Layer, add_into, contributions, delta, layers, until
from services.reporting.domain.facts import (
    STOCK_TYPE,
    Fact,
    Observed,
    available_now,
    fold_order,
    fold_stock,
    new_order,
    new_stock,
    order_as_of,
    order_times,
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
    # Days whose bucket or whose orders' layers changed (both are written), and days with a new stock level.
    days: set[str] = field(default_factory=set)
    level_days: set[str] = field(default_factory=set)
    state_changed: bool = False
    crossings: list[ReorderPointCrossed] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.facts or self.days or self.state_changed)


class PartitionModel:
    def __init__(self, partition: int, rule: ShipByRule, policy: ReplenishmentPolicy) -> None:
        self.partition = partition
        self.rule = rule
        self.policy = policy
        self.orders: dict[str, Fact] = {}
        self.stock: dict[str, Fact] = {}
        self.contributed: dict[str, Buckets] = {}
        # Per order, its contributions as layers by event time (kept in its fact too, so a new owner reads them).
        self.layers: dict[str, list[Layer]] = {}
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
                model._recount(fact_id, fact, None)
        return model

    def fold(self, events: list[Observed]) -> Changes:
        changes = Changes()
        # Per order touched: the latest event time it knew before this batch, and the times of the new events.
        touched: dict[str, tuple[str, list[str]]] = {}
        for event in events:
            if (event.source, event.type) == STOCK_TYPE:
                self._fold_stock(event, changes)
                continue
            order_id = event.order_id
            if order_id is None:
                continue
            fact = self.orders.get(order_id) or new_order(order_id)
            if order_id not in touched:
                times = order_times(fact)
                touched[order_id] = (times[-1] if times else "", [])
            if fold_order(fact, event):
                self.orders[order_id] = fact
                touched[order_id][1].append(event.occurred_at)
        for order_id in sorted(touched):
            known_until, new_times = touched[order_id]
            if not new_times:
                continue
            fact = self.orders[order_id]
            changes.facts[order_id] = fact
            days, attention_changed = self._recount(order_id, fact, (known_until, new_times))
            changes.days |= days
            changes.state_changed |= attention_changed
        if changes:
            self.version += 1
            for day in changes.days:
                self.day_versions[day] = self.version
        return changes

    def _layers(self, fact: Fact, old: list[Layer], new: tuple[str, list[str]] | None) -> list[Layer]:
        """The order's layers after folding events at `new` times into a fact known until `new[0]`. Events in time
        order (the usual case) add one layer; an event earlier than what the order knew redoes the layers from it."""
        if new is None:
            stored = fact.get("layers")
            if stored is not None:
                return [(at, change) for at, change in stored]
            return layers(fact, self.rule, order_as_of, order_times(fact))
        known_until, times = new
        if len(set(times)) == 1 and times[0] >= known_until:
            change = delta(self.contributed.get(fact["order_id"], {}), contributions(fact, self.rule))
            if not change:
                return old
            if old and old[-1][0] == times[0]:
                return [*old[:-1], (times[0], until([old[-1], (times[0], change)]))]
            return [*old, (times[0], change)]
        cut = min(times)
        kept = [layer for layer in old if layer[0] < cut]
        later = [at for at in order_times(fact) if at >= cut]
        redone = layers(fact, self.rule, order_as_of, later, before=until(kept))
        return kept + redone

    def _recount(self, order_id: str, fact: Fact, new: tuple[str, list[str]] | None) -> tuple[set[str], bool]:
        old = self.layers.get(order_id, [])
        found = self._layers(fact, old, new)
        self.layers[order_id] = found
        fact["layers"] = [[at, change] for at, change in found]
        after = until(found)
        before = self.contributed.get(order_id, {})
        self.contributed[order_id] = after
        add_into(self.buckets, delta(before, after))
        same = 0
        while same < min(len(old), len(found)) and old[same] == found[same]:
            same += 1
        days = {day for _, change in (*old[same:], *found[same:]) for day in change}
        now_days = {day for _, change in found for day in change}
        for day in now_days:
            self.members.setdefault(day, set()).add(order_id)
        for day in {day for _, change in old for day in change} - now_days:
            self.members.get(day, set()).discard(order_id)
        now = attention(fact, self.rule)
        changed = self.attention.get(order_id) != now
        if now is None:
            self.attention.pop(order_id, None)
        else:
            self.attention[order_id] = now
        return days, changed

    def rows(self, day: str) -> dict[str, list[tuple[str, dict[str, int]]]]:
        """What each order contributed to `day`, as its layers on that day (drill-downs, figures as of a time)."""
        return {
            order_id: [(at, change[day]) for at, change in self.layers[order_id] if day in change]
            for order_id in sorted(self.members.get(day, set()))
        }

    def level_days(self) -> set[str]:
        return {level[0][:10] for fact in self.stock.values() for level in fact["levels"]}

    def levels(self, day: str) -> dict[str, list[list[Any]]]:
        """Per stock item with a level on `day`: the level before the day, then the day's levels (for figures as of
        a time of that day)."""
        found: dict[str, list[list[Any]]] = {}
        for name, fact in self.stock.items():
            levels = fact["levels"]
            first = bisect.bisect_left(levels, [day])
            last = bisect.bisect_left(levels, [day + "T~"])
            if first < last:
                found[name] = [levels[first - 1] if first else [], *levels[first:last]]
        return found

    def _fold_stock(self, event: Observed, changes: Changes) -> None:
        name = stock_key(event.data["sku"], event.data["warehouse"])
        fact = self.stock.get(name) or new_stock(event.data["sku"], event.data["warehouse"])
        if not fold_stock(fact, event):
            return
        self.stock[name] = fact
        changes.facts[STOCK_PREFIX + name] = fact
        changes.state_changed = True
        changes.level_days.add(event.occurred_at[:10])
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
