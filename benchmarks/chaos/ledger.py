"""What the outside world did, as the outside world knows it: the reference the system's state is checked
against at the end. Every entry is made once the broker acknowledged the record (a copy sent again, byte for
byte, is not a second entry: it must have no second effect)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from benchmarks.chaos.scenario import OrderSpec
from benchmarks.chaos.wire import Record

Cell = tuple[str, str]  # (sku, warehouse)


@dataclass
class ReturnPlay:
    """One return: asked for on the storefront, later received by the warehouse."""

    lines: dict[str, int]  # sku -> units asked back
    shipped_from: dict[str, str]  # sku -> the one warehouse that shipped it for this order
    received: list[tuple[str, int, str]] = field(default_factory=list)  # (sku, units, condition)

    def refund(self, prices: dict[str, Decimal]) -> Decimal:
        """Every returned unit is refunded, resellable or damaged: the customer sent it back."""
        return sum((prices[sku] * units for sku, units, _ in self.received), Decimal("0"))


@dataclass
class OrderPlay:
    """One order as the storefront, warehouse and carriers have handled it so far."""

    spec: OrderSpec
    placed: bool = False
    cancel_requested: bool = False
    seen_status: str | None = None
    done: bool = False
    wants_return: bool = False  # the plan, until it turns out nothing can be returned
    returned: ReturnPlay | None = None
    return_declined: str | None = None
    shipment_first_seen: dict[str, float] = field(default_factory=dict)  # shipment id -> monotonic time
    scanned: dict[str, tuple[str, dict[str, int]]] = field(default_factory=dict)  # id -> (warehouse, lines)
    tracking: dict[str, tuple[str, str]] = field(default_factory=dict)  # shipment id -> (tracking no., carrier)
    carried: set[str] = field(default_factory=set)  # shipments the carrier is delivering
    quiet_visits: int = 0

    @property
    def order_id(self) -> str:
        return self.spec.order_id

    def final_status(self) -> set[str]:
        """Where this order must end: what the plan and the system's decisions so far lead to."""
        if self.spec.payment_status == "failed":
            return {"rejected"}
        if self.returned is not None:
            return {"refunded"}
        ends = {"cancelled"} if self.cancel_requested else set()
        return ends | ({"delivered"} if not self.wants_return else set())

    def rightful_endings(self) -> set[str]:
        """Where the system may rightly have left it: a delivered order whose return the outside world never
        got round to asking for (the run ended first) is done as far as the system is concerned."""
        waiting_for_us = self.wants_return and self.returned is None
        return self.final_status() | ({"delivered"} if waiting_for_us else set())


@dataclass
class Ledger:
    received: Counter[Cell] = field(default_factory=Counter)
    adjusted: Counter[Cell] = field(default_factory=Counter)
    restocked: Counter[Cell] = field(default_factory=Counter)  # resellable units back in the shipping warehouse
    malformed: list[Record] = field(default_factory=list)
    # Every warehouse scan sent, by its bytes: a scan that raced a cancellation is rightly dead-lettered.
    scans: dict[bytes, str] = field(default_factory=dict)  # record value -> shipment id
    duplicates_sent: Counter[str] = field(default_factory=Counter)  # message type -> byte-for-byte copies
    cancellations_sent: int = 0
    returns_requested: int = 0
    returns_received: int = 0
    carrier_updates: int = 0
    out_of_order_updates: int = 0
    # Seen while the run went on, not only at the end.
    overshipped_in_flight: list[str] = field(default_factory=list)
