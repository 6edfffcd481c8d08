"""What reporting publishes on `reporting.events.v1`: reorder-point crossings, keyed by sku."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from faststream.kafka import KafkaBroker

from services.reporting.application import ReorderPointCrossed
from shared.contracts.envelope import encode
from shared.contracts.reporting import ReorderPointCrossedV1
from shared.contracts.topics import REPORTING_EVENTS


class CrossingPublisher:
    def __init__(self, broker: KafkaBroker, topic_prefix: str) -> None:
        self.broker = broker
        self.topic = topic_prefix + REPORTING_EVENTS.name

    async def __call__(self, crossings: list[ReorderPointCrossed]) -> None:
        for crossing in crossings:
            at = datetime.fromisoformat(crossing.occurred_at.replace("Z", "+00:00"))
            payload = ReorderPointCrossedV1(
                sku=crossing.sku,
                warehouse=crossing.warehouse,
                available=crossing.available,
                reorder_point=crossing.reorder_point,
                suggested_quantity=crossing.suggested_quantity,
                days_of_supply=crossing.days_of_supply,
                crossed_at=at,
            )
            body = encode(UUID(crossing.event_id), "ReorderPointCrossed", at, payload)
            # Awaited: the batch is stored only once Kafka has the events (a crash re-sends the same ids).
            await self.broker.publish(
                body,
                topic=self.topic,
                key=crossing.sku.encode(),
                headers={"event-type": "ReorderPointCrossed", "source": "reporting"},
            )
