"""The simulation: the storefront places orders (some cancelled, some returned, a few malformed), the
warehouse picks, packs and dispatches what shipping asks for, and carriers report until delivery.

It talks to the system only through the contract topics, like the real outside world, and follows the
internal topics to know when to act (a warehouse system would learn of shipments the same way).
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from demo.catalog import CUSTOMERS, PRODUCTS, random_lines
from deploy.local.kafka_users import ADMIN, aiokafka_kwargs

TERMINAL = {"delivered", "cancelled", "rejected", "returned", "refunded"}


def _envelope(type_: str, data: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "type": type_,
            "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "data": data,
        }
    ).encode()


@dataclass
class Tally:
    """What the simulation has seen, for the progress display."""

    placed: int = 0
    malformed: int = 0
    cancellations: int = 0
    returns: int = 0
    dispatched: int = 0
    statuses: dict[str, str] = field(default_factory=dict)  # order id -> latest status

    def by_status(self) -> Counter[str]:
        return Counter(self.statuses.values())

    def finished(self, expected: int) -> bool:
        done = [s for s in self.statuses.values() if s in TERMINAL]
        return len(done) >= expected


# Who writes each inbound topic (the broker lets each user write only its own).
OUTSIDE_USERS = {"storefront.orders": "storefront", "warehouse.events": "warehouse", "carrier.tracking": "carrier"}


class OutsideProducers:
    """One producer per outside system, started and stopped together."""

    def __init__(self, by_topic: dict[str, AIOKafkaProducer]) -> None:
        self.by_topic = by_topic

    def __getitem__(self, topic: str) -> AIOKafkaProducer:
        return self.by_topic[topic]

    async def start(self) -> None:
        for producer in self.by_topic.values():
            await producer.start()

    async def stop(self) -> None:
        for producer in self.by_topic.values():
            await producer.stop()


class World:
    def __init__(self, bootstrap: str, topic_prefix: str, seed: int, orders: int, rate: float) -> None:
        self.bootstrap = bootstrap
        self.prefix = topic_prefix
        self.rng = random.Random(seed)
        self.orders = orders
        self.rate = rate
        self.tally = Tally()
        # The storefront, the warehouse and the carriers, each as its own Kafka user, writing only its topic.
        self.producer = OutsideProducers(
            {
                topic: AIOKafkaProducer(
                    bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", **aiokafka_kwargs(user)
                )
                for topic, user in OUTSIDE_USERS.items()
            }
        )
        self.to_cancel: set[str] = set()
        self.to_return: dict[str, list[tuple[str, int]]] = {}
        self.returned: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    async def send(self, topic: str, key: str, type_: str, data: dict[str, Any]) -> None:
        await self.producer[topic].send_and_wait(self.prefix + topic, _envelope(type_, data), key=key.encode())

    def later(self, delay: float, action: Any) -> None:
        """Run `action()` after `delay` seconds, as a person or system would, without blocking the loop."""

        async def run() -> None:
            await asyncio.sleep(delay)
            await action()

        task = asyncio.create_task(run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # --- storefront -------------------------------------------------------------------------------

    async def seed_stock(self) -> None:
        for product in PRODUCTS:
            for warehouse, quantity in product.stock.items():
                data = {"sku": product.sku, "warehouse": warehouse, "quantity": quantity}
                await self.send("warehouse.events", product.sku, "StockReceived", data)

    async def place_orders(self) -> None:
        run = uuid.uuid4().hex[:6].upper()
        for n in range(self.orders):
            order_id = f"SO-{run}-{n + 1:04d}"
            customer_id, email, name, city, postal_code, country = self.rng.choice(CUSTOMERS)
            lines = random_lines(self.rng)
            amount = sum(Decimal(product.price) * quantity for product, quantity in lines)
            order = {
                "order_id": order_id,
                "customer": {"id": customer_id, "email": email, "name": name},
                "shipping_address": {
                    "name": name, "line1": "Main street 1", "line2": None,
                    "city": city, "postal_code": postal_code, "country": country,
                },
                "lines": [{"sku": p.sku, "quantity": q, "unit_price": p.price} for p, q in lines],
                "currency": "EUR",
                "shipping_method": self.rng.choice(("standard", "standard", "express")),
                "promised_delivery_by": (date.today() + timedelta(days=self.rng.randint(1, 5))).isoformat(),
                "payment": {"reference": f"pi_{order_id}", "amount": str(amount), "status": "captured"},
            }  # fmt: skip
            await self.send("storefront.orders", order_id, "OrderPlaced", order)
            self.tally.placed += 1
            self.tally.statuses.setdefault(order_id, "placed")
            roll = self.rng.random()
            if roll < 0.12:
                self.to_cancel.add(order_id)
                self.later(self.rng.uniform(0.0, 1.5), lambda o=order_id: self.cancel(o))
            elif roll < 0.30:
                self.to_return[order_id] = [(p.sku, q) for p, q in lines[:1]]
            if n in (self.orders // 3, 2 * self.orders // 3):
                await self.send_malformed(order_id)
            await asyncio.sleep(1 / self.rate)

    async def cancel(self, order_id: str) -> None:
        self.tally.cancellations += 1
        await self.send(
            "storefront.orders",
            order_id,
            "OrderCancellationRequested",
            {"order_id": order_id, "reason": "customer_changed_mind"},
        )

    async def send_malformed(self, order_id: str) -> None:
        """What a buggy storefront release might send: these must end in the DLQ and change nothing."""
        bad_id = order_id + "-BAD"
        storefront = self.producer["storefront.orders"]
        await storefront.send_and_wait(self.prefix + "storefront.orders", b"{not json", key=bad_id.encode())
        data = {"order_id": bad_id, "lines": [{"sku": "MUG-LOGO", "quantity": 0}], "reason": "?"}
        await self.send("storefront.orders", bad_id, "ReturnRequested", data)
        self.tally.malformed += 2

    # --- warehouse and carriers ---------------------------------------------------------------------

    async def on_shipping_event(self, type_: str, data: dict[str, Any]) -> None:
        shipment_id = data.get("shipment_id", "")
        if type_ == "ShipmentCreated":
            self.later(self.rng.uniform(0.3, 1.0), lambda: self.fulfil(shipment_id))
        elif type_ == "ShipmentDispatched":
            self.tally.dispatched += 1
            self.later(self.rng.uniform(0.3, 1.0), lambda: self.carry(data["tracking_number"]))

    async def fulfil(self, shipment_id: str) -> None:
        await self.send("warehouse.events", shipment_id, "ShipmentPicked", {"shipment_id": shipment_id})
        await asyncio.sleep(self.rng.uniform(0.1, 0.4))
        await self.send("warehouse.events", shipment_id, "ShipmentPacked", {"shipment_id": shipment_id})
        await asyncio.sleep(self.rng.uniform(0.1, 0.4))
        tracking = f"TN{uuid.uuid4().hex[:12].upper()}"
        data = {
            "shipment_id": shipment_id,
            "carrier": self.rng.choice(("CTT", "SEUR", "DHL")),
            "tracking_number": tracking,
        }
        await self.send("warehouse.events", shipment_id, "ShipmentDispatched", data)

    async def carry(self, tracking: str) -> None:
        statuses = ["picked_up", "in_transit"]
        if self.rng.random() < 0.1:
            statuses.append("exception")
        statuses += ["out_for_delivery", "delivered"]
        for status in statuses:
            data = {"tracking_number": tracking, "carrier": "CTT", "status": status, "location": "hub", "detail": None}
            await self.send("carrier.tracking", tracking, "TrackingUpdated", data)
            if self.rng.random() < 0.1:  # carriers retry: the same update again
                await self.send("carrier.tracking", tracking, "TrackingUpdated", data)
            await asyncio.sleep(self.rng.uniform(0.1, 0.5))

    async def on_orders_event(self, type_: str, data: dict[str, Any]) -> None:
        order_id = data.get("order_id", "")
        if type_ == "OrderStatusChanged" and order_id in self.tally.statuses:
            self.tally.statuses[order_id] = data["status"]
            if data["status"] == "delivered" and order_id in self.to_return and order_id not in self.returned:
                self.returned.add(order_id)
                self.later(self.rng.uniform(0.2, 1.0), lambda: self.request_return(order_id))
        elif type_ == "ReturnApproved":
            lines = [(line["sku"], line["quantity"]) for line in data["lines"]]
            self.later(self.rng.uniform(0.3, 1.0), lambda: self.receive_return(order_id, lines))

    async def request_return(self, order_id: str) -> None:
        self.tally.returns += 1
        lines = [{"sku": sku, "quantity": quantity} for sku, quantity in self.to_return[order_id]]
        await self.send(
            "storefront.orders",
            order_id,
            "ReturnRequested",
            {"order_id": order_id, "lines": lines, "reason": "wrong_size"},
        )

    async def receive_return(self, order_id: str, lines: list[tuple[str, int]]) -> None:
        condition = "damaged" if self.rng.random() < 0.3 else "resellable"
        data = {"order_id": order_id, "lines": [{"sku": s, "quantity": q, "condition": condition} for s, q in lines]}
        await self.send("warehouse.events", order_id, "ReturnReceived", data)

    async def restock(self) -> None:
        """Goods arrive mid-run, filling backorders in their order of arrival."""
        for product in PRODUCTS:
            await self.send(
                "warehouse.events",
                product.sku,
                "StockReceived",
                {"sku": product.sku, "warehouse": "LIS-1", "quantity": 20},
            )

    # --- following the system -----------------------------------------------------------------------

    async def follow(self, ready: asyncio.Event) -> None:
        topics = [self.prefix + "shipping.events.v1", self.prefix + "orders.events.v1"]
        # A group of its own, starting at the end: the demo reacts to what happens from now on.
        consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=self.bootstrap,
            group_id=f"demo-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="latest",
            enable_auto_commit=False,
            # An operator's view of the internal topics (a real warehouse would poll its queue over HTTP).
            **aiokafka_kwargs(ADMIN),
        )
        await consumer.start()
        try:
            while not consumer.assignment():
                await consumer.getmany(timeout_ms=100)
            for partition in consumer.assignment():  # resolve positions now, so nothing later is missed
                await consumer.position(partition)
            ready.set()
            while True:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for record in records:
                        message = json.loads(record.value or b"{}")
                        if record.topic.endswith("shipping.events.v1"):
                            await self.on_shipping_event(message["type"], message["data"])
                        else:
                            await self.on_orders_event(message["type"], message["data"])
        finally:
            await consumer.stop()
