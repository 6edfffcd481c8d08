"""The outside world of the system, publishing on the contract topics: storefront, warehouse, carriers, reviews."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer

from shared.contracts.kafka_access import USERS
from tests.kafka_probe import envelope, producer
from tests.kafka_users import security_for


@asynccontextmanager
async def outside_world(bootstrap: str, topic_prefix: str) -> AsyncIterator[Outside]:
    """Storefront, warehouse and carriers on the contract topics under `topic_prefix`, each as its own user."""
    async with AsyncExitStack() as stack:
        admin = await stack.enter_async_context(producer(bootstrap))
        senders = {}
        for user in USERS:
            if not user.is_service:
                (topic,) = user.writes
                senders[topic.name] = await stack.enter_async_context(producer(bootstrap, security_for(user.name)))
        yield Outside(admin, topic_prefix, senders)


@dataclass
class Outside:
    # Anything else a test forges (the admin's producer).
    kafka: AIOKafkaProducer
    topic_prefix: str
    # The storefront, the warehouse and the carriers, each as its own Kafka user, by the topic it writes.
    senders: dict[str, AIOKafkaProducer] = field(default_factory=dict)

    async def send(
        self,
        topic: str,
        key: str,
        type_: str,
        data: dict[str, Any],
        event_id: str | None = None,
        occurred_at: str | None = None,
    ) -> str:
        value = envelope(type_, data, event_id, occurred_at)
        sender = self.senders.get(topic, self.kafka)
        await sender.send_and_wait(self.topic_prefix + topic, value, key=key.encode())
        return value.decode()

    # storefront.orders, keyed by order_id
    async def place(self, order: dict[str, Any], event_id: str | None = None) -> None:
        await self.send("storefront.orders", order["order_id"], "OrderPlaced", order, event_id)

    async def cancel(self, order_id: str, reason: str = "customer_changed_mind") -> None:
        await self.send(
            "storefront.orders", order_id, "OrderCancellationRequested", {"order_id": order_id, "reason": reason}
        )

    async def request_return(self, order_id: str, lines: list[tuple[str, int]], reason: str = "wrong_size") -> None:
        data = {"order_id": order_id, "lines": [{"sku": s, "quantity": q} for s, q in lines], "reason": reason}
        await self.send("storefront.orders", order_id, "ReturnRequested", data)

    # warehouse.events, keyed by sku (stock) or shipment / order
    async def receive_stock(self, sku: str, warehouse: str, quantity: int) -> None:
        await self.send(
            "warehouse.events", sku, "StockReceived", {"sku": sku, "warehouse": warehouse, "quantity": quantity}
        )

    async def adjust_stock(self, sku: str, warehouse: str, delta: int, reason: str = "cycle_count") -> None:
        data = {"sku": sku, "warehouse": warehouse, "delta": delta, "reason": reason}
        await self.send("warehouse.events", sku, "StockAdjusted", data)

    async def pick(self, shipment_id: str) -> None:
        await self.send("warehouse.events", shipment_id, "ShipmentPicked", {"shipment_id": shipment_id})

    async def pack(self, shipment_id: str) -> None:
        await self.send("warehouse.events", shipment_id, "ShipmentPacked", {"shipment_id": shipment_id})

    async def dispatch(self, shipment_id: str, tracking_number: str, carrier: str = "CTT") -> None:
        data = {"shipment_id": shipment_id, "carrier": carrier, "tracking_number": tracking_number}
        await self.send("warehouse.events", shipment_id, "ShipmentDispatched", data)

    async def return_received(self, order_id: str, lines: list[tuple[str, int, str]]) -> None:
        data = {"order_id": order_id, "lines": [{"sku": s, "quantity": q, "condition": c} for s, q, c in lines]}
        await self.send("warehouse.events", order_id, "ReturnReceived", data)

    # carrier.tracking, keyed by tracking number
    async def track(
        self,
        tracking_number: str,
        status: str,
        *,
        occurred_at: str | None = None,
        event_id: str | None = None,
        location: str | None = "Lisboa",
        detail: str | None = None,
        carrier: str = "CTT",
    ) -> None:
        data = {
            "tracking_number": tracking_number,
            "carrier": carrier,
            "status": status,
            "location": location,
            "detail": detail,
        }
        await self.send("carrier.tracking", tracking_number, "TrackingUpdated", data, event_id, occurred_at)

    # reviews.events, keyed by order_id
    async def review(
        self, order_id: str, rating: int, text: str = "", review_id: str | None = None, event_id: str | None = None
    ) -> str:
        """The review platform sends a review; returns its review id."""
        review_id = review_id or f"RV-{uuid.uuid4().hex[:10].upper()}"
        data = {"review_id": review_id, "order_id": order_id, "rating": rating, "text": text}
        await self.send("reviews.events", order_id, "ReviewSubmitted", data, event_id)
        return review_id
