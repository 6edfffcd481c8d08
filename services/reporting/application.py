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
from services.reporting.domain.contributions import (
    Buckets,
    Layer,
    add_into,
    combined,
    delta,
    layers_by_section,
    sections,
    until,
    with_rows,
)
from services.reporting.domain.facts import (
    PART_OF,
    STOCK_TYPE,
    Fact,
    Observed,
    available_now,
    fold_order,
    fold_stock,
    new_order,
    new_stock,
    order_as_of,
    order_changes,
    stock_key,
)
from services.reporting.domain.rules import ShipByRule
from services.reporting.domain.stock import ReplenishmentPolicy, replenishment

STOCK_PREFIX = "stock:"
# Orders whose contribution sections are kept (the most recently changed: about a week of a busy partition):
# the others recompute all of theirs at their next event.
SECTIONS_CACHED = 2_000
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
        # Per order: what it contributes now, its contributions as layers by event time (the same list is kept in
        # its fact, so a new owner reads them), and the latest time of an event folded into it.
        self.contributed: dict[str, Buckets] = {}
        self.layers: dict[str, list[Layer]] = {}
        self.latest: dict[str, str] = {}
        # Per order: its contributions by section, and the parts of its fact changed since its last layer.
        self.sections: dict[str, dict[str, Buckets]] = {}
        self.changed: dict[str, set[str]] = {}
        self.buckets: Buckets = {}
        # Per day, the orders with a layer on it (whose layers on that day are its drill-down rows). Sets per day,
        # not rows per order and day: a process's objects are what each full garbage collection walks.
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
                model._load(fact_id, fact)
        return model

    def _load(self, order_id: str, fact: Fact) -> None:
        changes = order_changes(fact)
        stored = fact.get("layers")
        if stored is None:  # a fact stored before layers were kept
            found, after = self._layers_from(fact, changes, {})
        else:
            found = [(at, change) for at, change in stored]
            after = until(found)
        self._set_layers(order_id, fact, found)
        self._index(order_id, found)
        self.contributed[order_id] = after
        add_into(self.buckets, after)
        if changes:
            self.latest[order_id] = changes[-1][0]
        self._attend(order_id, fact)

    def fold(self, events: list[Observed]) -> Changes:
        changes = Changes()
        # Orders whose events so far came in time order: the time of the events folded but not yet layered. An
        # order's next later event layers them first, so each distinct event time costs one contributions()
        # of the live fact (which is the fact as known then). Orders that got an event earlier than one they
        # knew: the earliest such time, from which their layers are redone at the end of the batch.
        pending: dict[str, str] = {}
        redo: dict[str, str] = {}
        touched: set[str] = set()
        for event in events:
            if (event.source, event.type) == STOCK_TYPE:
                self._fold_stock(event, changes)
                continue
            order_id = event.order_id
            if order_id is None:
                continue
            fact = self.orders.get(order_id) or new_order(order_id)
            at = event.occurred_at
            if order_id in redo or at < self.latest.get(order_id, ""):
                if fold_order(fact, event):
                    self.orders[order_id] = fact
                    self.latest[order_id] = max(at, self.latest.get(order_id, ""))
                    redo[order_id] = min(at, redo.get(order_id, at))
                    pending.pop(order_id, None)
                    touched.add(order_id)
                continue
            known = pending.get(order_id)
            if known is not None and at > known:
                self._layer(order_id, fact, known, changes)
                del pending[order_id]
            if fold_order(fact, event):
                self.orders[order_id] = fact
                self.latest[order_id] = at
                self.changed.setdefault(order_id, set()).add(PART_OF[(event.source, event.type)])
                pending[order_id] = at
                touched.add(order_id)
        for order_id in sorted(touched):
            fact = self.orders[order_id]
            if order_id in pending:
                self._layer(order_id, fact, pending[order_id], changes)
            elif order_id in redo:
                self._redo(order_id, fact, redo[order_id], changes)
            if order_id not in self.layers:
                self._set_layers(order_id, fact, [])
            changes.facts[order_id] = fact
            changes.state_changed |= self._attend(order_id, fact)
        if changes:
            self.version += 1
            for day in changes.days:
                self.day_versions[day] = self.version
        return changes

    def _layer(self, order_id: str, fact: Fact, at: str, changes: Changes) -> None:
        """The events up to `at` are folded, none later: the layer at `at` is what changed since the last one."""
        change = self._change(order_id, fact)
        if not change:
            return
        add_into(self.buckets, change)
        changes.days.update(change)
        found = self.layers.get(order_id) or self._set_layers(order_id, fact, [])
        if found and found[-1][0] == at:  # more events at the instant of the last layer (a later batch)
            last = found.pop()
            change = until([last, (at, change)])
            if change:
                found.append((at, change))
                self._index(order_id, [found[-1]])
            self._unindex(order_id, [last])
            return
        found.append((at, change))
        self._index(order_id, [found[-1]])

    def _change(self, order_id: str, fact: Fact) -> Buckets:
        """What the order's contributions changed by since its last layer (`contributed` updated): only the
        sections reading a part its new events wrote are recomputed, when the others are at hand."""
        cached = self.sections.pop(order_id, None)
        changed = self.changed.pop(order_id, None)
        before = self.contributed.setdefault(order_id, {})
        change: Buckets = {}
        if cached is None or changed is None:
            computed = sections(fact, self.rule)
            after = combined(computed)
            cached = {name: section for name, section in computed.items() if section}  # an absent one is empty
            change = delta(before, after)
            self.contributed[order_id] = after
        else:
            for name, section in sections(fact, self.rule, frozenset(changed)).items():
                # No counter is written by two sections: their changes merge without adding.
                for day, counters in delta(cached.get(name, {}), section).items():
                    change.setdefault(day, {}).update(counters)
                if section:
                    cached[name] = section
                else:
                    cached.pop(name, None)
            change = with_rows(before, change)
            add_into(before, change)
        self.sections[order_id] = cached  # the most recent last
        if len(self.sections) > SECTIONS_CACHED:
            del self.sections[next(iter(self.sections))]
        return change

    def _redo(self, order_id: str, fact: Fact, cut: str, changes: Changes) -> None:
        """An event earlier than one the order knew: its layers from that time on, from the fact as known then."""
        found = self.layers.get(order_id) or self._set_layers(order_id, fact, [])
        kept = bisect.bisect_left(found, cut, key=lambda layer: layer[0])
        old = found[kept:]
        redone, after = self._layers_from(fact, [c for c in order_changes(fact) if c[0] >= cut], until(found[:kept]))
        found[kept:] = redone
        self._index(order_id, redone)
        self._unindex(order_id, old)
        change = delta(self.contributed.get(order_id, {}), after)
        self.contributed[order_id] = after
        self.sections.pop(order_id, None)
        self.changed.pop(order_id, None)
        add_into(self.buckets, change)
        changes.days.update(day for _, layer in (*old, *redone) for day in layer)

    def _layers_from(
        self, fact: Fact, changes: list[tuple[str, frozenset[str]]], before: Buckets
    ) -> tuple[list[Layer], Buckets]:
        return layers_by_section(fact, self.rule, order_as_of, changes, before)

    def _set_layers(self, order_id: str, fact: Fact, found: list[Layer]) -> list[Layer]:
        self.layers[order_id] = found
        fact["layers"] = found  # the same list: stored with the fact as it grows
        return found

    def _index(self, order_id: str, found: list[Layer]) -> None:
        for _, change in found:
            for day in change:
                self.members.setdefault(day, set()).add(order_id)

    def _unindex(self, order_id: str, gone: list[Layer]) -> None:
        """After layers left the order's list: it is no longer a row of the days none of its layers is on."""
        days = {day for _, change in gone for day in change}
        days.difference_update(day for _, change in self.layers[order_id] for day in change)
        for day in days:
            self.members[day].discard(order_id)

    def _attend(self, order_id: str, fact: Fact) -> bool:
        now = attention(fact, self.rule)
        changed = self.attention.get(order_id) != now
        if now is None:
            self.attention.pop(order_id, None)
        else:
            self.attention[order_id] = now
        return changed

    def rows(self, day: str) -> dict[str, list[tuple[str, dict[str, int]]]]:
        """What each order contributed to `day`, as its layers on that day (drill-downs, figures as of a time)."""
        return {
            order_id: [(at, change[day]) for at, change in self.layers[order_id] if day in change]
            for order_id in sorted(self.members.get(day, ()))
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
