"""The seeded plan of a run: which orders are placed with which lines, which are cancelled, returned or sent
twice, when malformed messages go out, what stock the warehouses open with, and when which fault strikes.

Everything random about *what* the outside world does is decided here, up front, from the seed, so that a
seed names the same run again. *When* the system reacts is not ours to fix; the play adapts to it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

# A small shop, so that orders compete for the same stock (and backorders and splits happen).
PRICES = {
    "TSHIRT-RED-M": Decimal("19.90"),
    "TSHIRT-BLUE-L": Decimal("19.90"),
    "HOODIE-GREY-M": Decimal("49.00"),
    "MUG-LOGO": Decimal("8.50"),
    "CAP-BLACK": Decimal("14.00"),
    "SNEAKER-WHITE-42": Decimal("89.00"),
    "SOCKS-3PACK": Decimal("9.99"),
    "TOTE-BAG": Decimal("12.00"),
}
SKUS = tuple(PRICES)
WAREHOUSES = ("LIS-1", "MAD-1", "POR-1")
CUSTOMERS = (
    ("C-881", "ana@example.com"),
    ("C-214", "joao@example.com"),
    ("C-530", "lucia@example.com"),
    ("C-077", "pierre@example.com"),
    ("C-902", "mia@example.com"),
)
# Opening stock covers this share of the expected demand; receipts during the run fill the backorders.
OPENING_SHARE = 0.6

FaultKind = Literal["kill", "bounce", "store"]


@dataclass(frozen=True)
class OrderSpec:
    order_id: str
    lines: tuple[tuple[str, int], ...]  # (sku, quantity), one line per sku
    customer_id: str
    email: str
    payment_status: str  # captured | authorized place an order; failed is rejected
    promised_delivery_by: date
    cancel_after_s: float | None  # the customer changes their mind this long after placing
    wants_return: bool  # once delivered, some of it comes back
    resent_byte_for_byte: bool  # a producer retry: the very same record twice
    replaced_under_new_event_id: bool  # the same order_id again under a new event_id (with other lines)

    @property
    def quantities(self) -> dict[str, int]:
        return dict(self.lines)


@dataclass(frozen=True)
class Fault:
    at_s: float  # seconds after the first order
    kind: FaultKind
    service: str  # for a kill: which service (the replica is chosen when it strikes)
    downtime_s: float


@dataclass(frozen=True)
class Scenario:
    seed: int
    orders: tuple[OrderSpec, ...]
    opening_stock: dict[tuple[str, str], int]  # (sku, warehouse) -> units received before the first order
    opening_adjustments: dict[tuple[str, str], int]  # negative cycle-count corrections, before the first order
    malformed_after: tuple[int, ...]  # order indices after which one malformed message is sent
    faults: tuple[Fault, ...]
    load_s: float  # how long placing the orders takes at the planned rate


def plan(
    seed: int,
    orders: int,
    rate: float,
    kills: int,
    bounces: int,
    store_restarts: int,
    malformed: int,
    services: tuple[str, ...],
) -> Scenario:
    rng = random.Random(seed)
    specs = tuple(_order(rng, seed, n) for n in range(orders))
    load_s = orders / rate
    stock, adjustments = _opening_stock(rng, specs)
    return Scenario(
        seed=seed,
        orders=specs,
        opening_stock=stock,
        opening_adjustments=adjustments,
        malformed_after=tuple(sorted(rng.sample(range(orders), k=min(malformed, orders)))),
        faults=_faults(rng, load_s, kills, bounces, store_restarts, services),
        load_s=load_s,
    )


def _order(rng: random.Random, seed: int, n: int) -> OrderSpec:
    skus = rng.sample(SKUS, k=rng.choice((1, 1, 2, 3)))
    customer_id, email = rng.choice(CUSTOMERS)
    payment = rng.choices(("captured", "authorized", "failed"), weights=(85, 13, 2))[0]
    roll = rng.random()
    cancels = payment != "failed" and roll < 0.10
    returns = payment != "failed" and 0.10 <= roll < 0.25
    return OrderSpec(
        order_id=f"SO-{seed}-{n + 1:05d}",
        lines=tuple((sku, rng.choice((1, 1, 1, 2, 3))) for sku in skus),
        customer_id=customer_id,
        email=email,
        payment_status=payment,
        promised_delivery_by=date.today() + timedelta(days=rng.randint(2, 6)),
        cancel_after_s=rng.uniform(0.0, 4.0) if cancels else None,
        wants_return=returns,
        resent_byte_for_byte=rng.random() < 0.05,
        replaced_under_new_event_id=rng.random() < 0.03,
    )


def _opening_stock(
    rng: random.Random, specs: tuple[OrderSpec, ...]
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """Part of the demand, spread unevenly over two warehouses per sku (so that orders get split), each cell
    corrected down a little by a cycle count before trading starts (no allocation yet, so it always applies)."""
    demand: Counter[str] = Counter()
    for spec in specs:
        demand.update(spec.quantities)
    stock: dict[tuple[str, str], int] = {}
    adjustments: dict[tuple[str, str], int] = {}
    for sku in SKUS:
        total = max(4, int(demand[sku] * OPENING_SHARE))
        first, second = rng.sample(WAREHOUSES, k=2)
        share = int(total * rng.uniform(0.5, 0.8))
        for warehouse, units in ((first, share), (second, total - share)):
            stock[(sku, warehouse)] = units + 2
            adjustments[(sku, warehouse)] = -rng.randint(1, 2)
    return stock, adjustments


def _faults(
    rng: random.Random, load_s: float, kills: int, bounces: int, store_restarts: int, services: tuple[str, ...]
) -> tuple[Fault, ...]:
    """Random moments while orders flow (not in the first or last few percent: we want traffic around them)."""

    def moment() -> float:
        return rng.uniform(0.05 * load_s, 0.95 * load_s)

    faults = [Fault(moment(), "kill", rng.choice(services), rng.uniform(0.5, 4.0)) for _ in range(kills)]
    faults += [Fault(moment(), "bounce", "kafka", rng.uniform(1.0, 5.0)) for _ in range(bounces)]
    faults += [Fault(moment(), "store", "ferretdb", rng.uniform(0.5, 3.0)) for _ in range(store_restarts)]
    return tuple(sorted(faults, key=lambda fault: fault.at_s))
