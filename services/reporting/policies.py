"""What reporting consumes: the four internal topics (every order event, and stock levels), folded per partition.

Handlers do nothing per message: the batch is folded by the partition's projection. The edge validates each
payload against its contract first, so a malformed event is dead-lettered by whoever handles its type and never
reaches the facts. reporting dead-letters nothing it does not handle (it is never a topic's only consumer).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from services.reporting.domain.facts import ORDER_HANDLERS, STOCK_TYPE, Observed
from services.reporting.domain.rules import iso
from services.reporting.projections.projection import PartitionProjection
from shared.contracts.customer_service import CUSTOMER_SERVICE_TYPES
from shared.contracts.envelope import Contract, Message
from shared.contracts.inventory import INVENTORY_TYPES
from shared.contracts.orders import ORDERS_TYPES
from shared.contracts.shipping import SHIPPING_TYPES
from shared.contracts.topics import CUSTOMER_SERVICE_EVENTS, INVENTORY_EVENTS, ORDERS_EVENTS, SHIPPING_EVENTS, Topic
from shared.messaging.subscriptions import Subscription

TOPICS: tuple[tuple[Topic, Mapping[str, type[Contract]]], ...] = (
    (ORDERS_EVENTS, ORDERS_TYPES),
    (INVENTORY_EVENTS, INVENTORY_TYPES),
    (SHIPPING_EVENTS, SHIPPING_TYPES),
    (CUSTOMER_SERVICE_EVENTS, CUSTOMER_SERVICE_TYPES),
)


def folded_types(source: str) -> list[str]:
    return sorted({type_ for owner, type_ in (*ORDER_HANDLERS, STOCK_TYPE) if owner == source})


def folded_in_batches(message: Message[Any]) -> None:
    """The batch is folded by the partition's projection, not per message."""


def subscriptions() -> list[Subscription]:
    return [
        Subscription(topic, types, {type_: folded_in_batches for type_ in folded_types(topic.owner)})
        for topic, types in TOPICS
    ]


def observed(source: str, message: Message[Any]) -> Observed:
    return Observed(
        event_id=str(message.event_id),
        source=source,
        type=message.type,
        occurred_at=iso(message.occurred_at),
        data=message.data.model_dump(mode="json"),
    )


def project(projection: PartitionProjection) -> Callable[[list[tuple[str, Message[Any]]]], Awaitable[None]]:
    async def apply_batch(messages: list[tuple[str, Message[Any]]]) -> None:
        await projection.apply([observed(source, message) for source, message in messages])

    return apply_batch
