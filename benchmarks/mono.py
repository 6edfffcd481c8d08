"""B_mono: the domain code of the four services wired in ONE process on in-memory persistence.

Run: ``uv run python -m benchmarks.mono [--orders N]`` (also run by ``benchmarks.order_flow``, which prints
system ÷ B_mono).

The same applications, subscriptions and outbound mappings as the services (`policies.subscriptions`,
`adapters.outbound.to_outbound`), on `eventsourcing.popo`. Each published `Outbound` is handed to the
services subscribed to its topic as a `Delivery` through `ServiceApplication.process` (batches of up to
MAX_BATCH per service, as the runtime batches per log); customer_service's history is folded in memory with
the live path's own `apply` / `new_history` / `received`. The warehouse and the carrier are played the same way
as in the system benchmark: pick, pack and dispatch once a shipment is created, in_transit and delivered once
it is dispatched. What is left out — Kafka, MongoDB, JSON on the wire, HTTP, telemetry, shipping's read
model — is what the ratio system ÷ B_mono is about.
"""

from __future__ import annotations

import argparse
import resource
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from services.customer_service.policies import received
from services.customer_service.policies import subscriptions as projection_subscriptions
from services.customer_service.projections.history import History, apply, new_history
from services.inventory.adapters.outbound import to_outbound as inventory_outbound
from services.inventory.application import InventoryApplication
from services.inventory.policies import subscriptions as inventory_subscriptions
from services.orders.adapters.outbound import to_outbound as orders_outbound
from services.orders.application import OrdersApplication
from services.orders.policies import subscriptions as orders_subscriptions
from services.shipping.adapters.outbound import to_outbound as shipping_outbound
from services.shipping.application import ShippingApplication
from services.shipping.policies import subscriptions as shipping_subscriptions
from shared.contracts.carrier import TrackingUpdatedV1
from shared.contracts.envelope import Contract, Message
from shared.contracts.storefront import OrderPlacedV1
from shared.contracts.topics import (
    CARRIER_TRACKING,
    ORDERS_EVENTS,
    SHIPPING_EVENTS,
    STOREFRONT_ORDERS,
    WAREHOUSE_EVENTS,
    Topic,
)
from shared.contracts.warehouse import ShipmentDispatchedV1, ShipmentScanV1, StockReceivedV1
from shared.messaging.application import Delivery, ServiceApplication
from shared.messaging.outbound import DeadLetter
from shared.messaging.relay import ToOutbound, outbound_messages, published_event_id
from shared.messaging.subscriptions import Subscription
from tests.factories import order_placed

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
# The runtime's default `max_batch` per log.
MAX_BATCH = 500
# The orders of both benchmarks: one line of one of these skus, round robin (ample stock in both warehouses).
SKUS = [f"BENCH-{n}" for n in range(10)]
WAREHOUSES = ("LIS-1", "MAD-1")
STOCK_PER_SKU = 1_000_000
CARRIER = "CTT"


def order_payload(order_id: str, n: int) -> dict[str, Any]:
    """The n-th order of a run, as the storefront sends it (the system benchmark sends the same)."""
    return order_placed(order_id, [(SKUS[n % len(SKUS)], 1, "9.90")])


def tracking_number(shipment_id: str) -> str:
    return f"T{shipment_id}"[:64]


@dataclass
class Service:
    """One service's application, what it consumes (by topic name) and its outbound mapping."""

    name: str
    app: ServiceApplication
    subscriptions: dict[str, Subscription]
    to_outbound: ToOutbound
    queue: deque[Delivery] = field(default_factory=deque)
    seconds: float = 0.0  # time spent in `process`, to say where B_mono's time goes

    @classmethod
    def of(cls, name: str, app: ServiceApplication, subscriptions: list[Subscription], outbound: ToOutbound) -> Service:
        return cls(name, app, {s.topic.name: s for s in subscriptions}, outbound)


@dataclass
class MonoResult:
    orders: int
    delivered: int
    seconds: float
    domain_events: int
    messages: int
    folded: int
    refused: int
    histories_delivered: int
    cpu_seconds: float
    service_seconds: dict[str, float]

    @property
    def orders_per_s(self) -> float:
        return self.delivered / self.seconds

    @property
    def events_per_s(self) -> float:
        return self.domain_events / self.seconds

    @property
    def cpu_ms_per_order(self) -> float:
        return self.cpu_seconds * 1000 / max(1, self.delivered)


class Mono:
    """The four services and the outside world in one process, messages routed in memory."""

    def __init__(self) -> None:
        orders = OrdersApplication(env=POPO)
        inventory = InventoryApplication(env=POPO)
        shipping = ShippingApplication(env=POPO)
        self.services = [
            Service.of("orders", orders, orders_subscriptions(orders), orders_outbound),
            Service.of("inventory", inventory, inventory_subscriptions(inventory), inventory_outbound),
            Service.of("shipping", shipping, shipping_subscriptions(shipping), shipping_outbound),
        ]
        self.projections = {s.topic.name: s for s in projection_subscriptions()}
        self.histories: dict[str, History] = {}
        self.seq = 0
        self.delivered: set[str] = set()
        self.counts: Counter[str] = Counter()
        self.projection_seconds = 0.0

    # The outside world.

    def publish(self, topic: Topic, type_: str, data: Contract, event_id: uuid.UUID, at: datetime) -> None:
        """What Kafka does for a message: every subscriber of the topic gets it; then the world reacts."""
        self.counts["messages"] += 1
        # Not validated again: the payload is a contract object already (the system validates it on the wire).
        message = Message[Any].model_construct(event_id=event_id, type=type_, occurred_at=at, data=data)
        for service in self.services:
            subscription = service.subscriptions.get(topic.name)
            handler = subscription.handlers.get(type_) if subscription else None
            if subscription is not None and handler is not None:
                typed = _as_contract(message, subscription.payload_types[type_])
                service.queue.append(Delivery(str(event_id), partial(handler, typed)))
        self._fold(topic, message)
        self._react(topic, type_, data)

    def send(self, topic: Topic, type_: str, data: Contract, at: datetime | None = None) -> None:
        """A message from outside (storefront, warehouse, carrier): a fresh event id."""
        self.publish(topic, type_, data, uuid.uuid4(), at or datetime.now(UTC))

    def _react(self, topic: Topic, type_: str, data: Contract) -> None:
        """The warehouse and the carrier, acting as soon as shipping says so (as the system benchmark does)."""
        if topic is SHIPPING_EVENTS and type_ == "ShipmentCreated":
            shipment_id = data.shipment_id  # type: ignore[attr-defined]
            self.send(WAREHOUSE_EVENTS, "ShipmentPicked", ShipmentScanV1(shipment_id=shipment_id))
            self.send(WAREHOUSE_EVENTS, "ShipmentPacked", ShipmentScanV1(shipment_id=shipment_id))
            dispatched = ShipmentDispatchedV1(
                shipment_id=shipment_id, carrier=CARRIER, tracking_number=tracking_number(shipment_id)
            )
            self.send(WAREHOUSE_EVENTS, "ShipmentDispatched", dispatched)
        elif topic is SHIPPING_EVENTS and type_ == "ShipmentDispatched":
            number, now = data.tracking_number, datetime.now(UTC)  # type: ignore[attr-defined]
            for status, at in (("in_transit", now), ("delivered", now + timedelta(milliseconds=1))):
                update = TrackingUpdatedV1(tracking_number=number, carrier=CARRIER, status=status)
                self.send(CARRIER_TRACKING, "TrackingUpdated", update, at)
        elif topic is ORDERS_EVENTS and type_ == "OrderStatusChanged" and data.status == "delivered":  # type: ignore[attr-defined]
            self.delivered.add(data.order_id)  # type: ignore[attr-defined]

    def _fold(self, topic: Topic, message: Message[Any]) -> None:
        """customer_service's live fold, without its store: the types it projects, into in-memory histories."""
        subscription = self.projections.get(topic.name)
        if subscription is None or message.type not in subscription.handlers:
            return
        started = time.perf_counter()
        self.seq += 1
        event = received(topic.owner, message).with_seq(self.seq)
        history = self.histories.get(event.order_id)
        if history is None:
            history = self.histories[event.order_id] = new_history(event.order_id)
        if apply(history, event):
            self.counts["folded"] += 1
        self.projection_seconds += time.perf_counter() - started

    # The services.

    def run_until_idle(self) -> None:
        """Round robin: each service with work processes one batch, then publishes what it committed."""
        while any(service.queue for service in self.services):
            for service in self.services:
                if service.queue:
                    self._process_batch(service)

    def _process_batch(self, service: Service) -> None:
        batch = [service.queue.popleft() for _ in range(min(MAX_BATCH, len(service.queue)))]
        started = time.perf_counter()
        processed = service.app.process(batch)
        service.seconds += time.perf_counter() - started
        self.counts["refused"] += len(processed.refused)
        self.counts["domain_events"] += len(processed.events)
        for event in processed.events:
            for index, outbound in enumerate(outbound_messages(service.to_outbound(event))):
                if isinstance(outbound, DeadLetter):
                    self.counts["dead_letters"] += 1  # an early message given up: it would go to a DLQ
                    continue
                at: datetime = event.timestamp  # type: ignore[attr-defined]
                self.publish(outbound.topic, outbound.type, outbound.data, published_event_id(event, index), at)

    def close(self) -> None:
        for service in self.services:
            service.app.close()


def _as_contract(message: Message[Any], contract: type[Contract]) -> Message[Any]:
    """The subscriber's contract class for the payload (the same class today: shared/contracts)."""
    if isinstance(message.data, contract):
        return message
    data = contract.model_validate(message.data.model_dump(mode="json"))
    return message.model_copy(update={"data": data})


def stock(mono: Mono) -> None:
    for sku in SKUS:
        for warehouse in WAREHOUSES:
            mono.send(
                WAREHOUSE_EVENTS, "StockReceived", StockReceivedV1(sku=sku, warehouse=warehouse, quantity=STOCK_PER_SKU)
            )
    mono.run_until_idle()


def run(orders: int, run_id: str | None = None, on_progress: Callable[[str], None] | None = None) -> MonoResult:
    """Place `orders` orders at once and run until nothing is left to do; timed from the first placement."""
    mono = Mono()
    try:
        stock(mono)
        prefix = f"BM{run_id or uuid.uuid4().hex[:6].upper()}"
        payloads = [OrderPlacedV1.model_validate(order_payload(f"{prefix}-{n:06d}", n)) for n in range(orders)]
        before = mono.counts.copy()
        cpu_started, started = time.process_time(), time.perf_counter()
        for payload in payloads:
            mono.send(STOREFRONT_ORDERS, "OrderPlaced", payload)
        mono.run_until_idle()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        counts = mono.counts - before
        if on_progress:
            on_progress(f"B_mono: {orders} orders in {seconds:.1f} s")
        delivered_histories = sum(1 for h in mono.histories.values() if h["status"] == "delivered")
        return MonoResult(
            orders=orders,
            delivered=len(mono.delivered),
            seconds=seconds,
            domain_events=counts["domain_events"],
            messages=counts["messages"],
            folded=counts["folded"],
            refused=counts["refused"],
            histories_delivered=delivered_histories,
            cpu_seconds=cpu,
            service_seconds={s.name: s.seconds for s in mono.services} | {"customer_service": mono.projection_seconds},
        )
    finally:
        mono.close()


def describe(result: MonoResult) -> list[str]:
    shares = ", ".join(f"{name} {seconds / result.seconds:.0%}" for name, seconds in result.service_seconds.items())
    return [
        f"B_mono: {result.delivered}/{result.orders} orders placed → delivered in {result.seconds:.1f} s: "
        f"{result.orders_per_s:,.0f} orders/s, {result.events_per_s:,.0f} domain events/s "
        f"({result.domain_events / max(1, result.delivered):.1f} per order), "
        f"{result.messages / result.seconds:,.0f} messages/s, {result.folded / result.seconds:,.0f} folded events/s",
        f"B_mono: CPU {result.cpu_ms_per_order:.2f} ms per order (= {1000 / result.cpu_ms_per_order:,.0f} orders/s "
        f"per core, steadier than the wall clock on a shared machine); time in {shares}; "
        f"histories delivered {result.histories_delivered}/{result.orders}; refused {result.refused}; "
        f"peak RSS {peak_rss_mib():.0f} MiB (this process)",
    ]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=5_000, help="orders placed at once (default 5000)")
    args = parser.parse_args()
    for line in describe(run(args.orders)):
        print(line)


if __name__ == "__main__":
    main()
