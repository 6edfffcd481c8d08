"""The customer KPIs without adding up every customer's counters of every day asked.

A day bucket holds, per customer who placed a kept order that day, `cust|<id>|orders` and `cust|<id>|net`: about
3,300 customers a day at 100,000 orders over 60 days, so a month is ~100,000 customer-days and the lifetime top
customers every customer-day there is. Adding them name by name in Python was nearly all of a customer query.

- A period's buyers and repeat buyers: each day keeps its buyers as a tuple (a customer once per order), and the
  period's are counted by `Counter` over the days' tuples, which counts in C.
- The lifetime top customers as of a day: `Totals`, per customer the orders and net revenue over a set of days,
  moved from one set of days to another by taking out and adding whole days, so that a day that changed (today's
  bucket, a late refund) or a narrower range (as of a past day) costs the customers of the days that differ.

Both give exactly what `kpis.per_customer` of the summed counters gives (the unit tests compare them).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain
from operator import countOf
from typing import Any

from services.reporting.domain import kpis

CUSTOMER_PREFIX = "cust|"
TOP = 10


@dataclass(frozen=True, slots=True)
class CustomerDay:
    """One day's counters, the customers' apart from the others."""

    general: dict[str, int]
    orders: dict[str, int]
    net: dict[str, int]
    # Each customer once per order placed that day; only when no count is negative (none is, in a consistent
    # bucket: every order adds 1 or nothing), else None and the period's buyers are added up name by name.
    buyers: tuple[str, ...] | None

    @classmethod
    def of(cls, counters: Mapping[str, int]) -> CustomerDay:
        general: dict[str, int] = {}
        orders: dict[str, int] = {}
        net: dict[str, int] = {}
        for name, value in counters.items():
            if not name.startswith(CUSTOMER_PREFIX):
                general[name] = value
                continue
            _, customer, kind = name.split("|")
            orders.setdefault(customer, 0)
            net.setdefault(customer, 0)
            (orders if kind == "orders" else net)[customer] += value
        exact = all(count >= 0 for count in orders.values())
        buyers = tuple(chain.from_iterable([c] * n for c, n in orders.items() if n)) if exact else None
        return cls(general, orders, net, buyers)


def buyers(days: Iterable[CustomerDay]) -> tuple[int, int]:
    """The customers with an order in the days, and those with two or more (`kpis.customers`' `buyers`)."""
    listed = list(days)
    if all(day.buyers is not None for day in listed):
        counts = Counter(chain.from_iterable(day.buyers or () for day in listed))
        return len(counts), len(counts) - countOf(counts.values(), 1)
    summed: dict[str, int] = {}
    for day in listed:
        for customer, n in day.orders.items():
            summed[customer] = summed.get(customer, 0) + n
    found = [n for n in summed.values() if n > 0]
    return len(found), sum(1 for n in found if n >= 2)


class Totals:
    """Per customer, kept orders and net revenue over a set of days (`days`), and how many of them it is on."""

    def __init__(self) -> None:
        self.days: dict[str, CustomerDay] = {}
        self.orders: dict[str, int] = {}
        self.net: dict[str, int] = {}
        self.present: dict[str, int] = {}

    def copy(self) -> Totals:
        other = Totals()
        other.days, other.orders, other.net, other.present = (
            dict(self.days), dict(self.orders), dict(self.net), dict(self.present)
        )  # fmt: skip
        return other

    def differing(self, wanted: Mapping[str, CustomerDay]) -> list[str]:
        """The days to take out or add to hold exactly `wanted` (a day's value is compared by identity: a reader
        hands out the same object while the day's buckets stay as they are)."""
        return [day for day in self.days.keys() | wanted.keys() if self.days.get(day) is not wanted.get(day)]

    def move_to(self, wanted: Mapping[str, CustomerDay]) -> None:
        for day in self.differing(wanted):
            old, new = self.days.pop(day, None), wanted.get(day)
            if old is not None:
                self._add(old, -1)
            if new is not None:
                self._add(new, 1)
                self.days[day] = new

    def _add(self, day: CustomerDay, sign: int) -> None:
        orders, net, present = self.orders, self.net, self.present
        for customer, n in day.orders.items():
            left = present.get(customer, 0) + sign
            if left:
                present[customer] = left
                orders[customer] = orders.get(customer, 0) + sign * n
                net[customer] = net.get(customer, 0) + sign * day.net[customer]
            else:  # on none of the days any more: not a customer of them (as `per_customer` of their sum)
                del present[customer], orders[customer], net[customer]

    def top(self, top: int = TOP) -> list[dict[str, Any]]:
        """`kpis.top_customers` of these totals: the net revenue of the `top`-th best found among the values in
        C, then only the customers at or above it are ranked (by net revenue, then id)."""
        if len(self.net) <= top:
            candidates = list(self.net.items())
        else:
            floor = heapq.nlargest(top, self.net.values())[-1]
            candidates = [(customer, net) for customer, net in self.net.items() if net >= floor]
        lifetime = {customer: {"orders": self.orders[customer], "net": net} for customer, net in candidates}
        return kpis.top_customers(lifetime, top)
