"""What customer_service consumes: every order-related event of the four internal topics, into the projections.

Handlers are coroutines (the read models use the async MongoDB client): the consumer runtime awaits them on the
loop. Stock-level events (no order) are left alone. customer_service dead-letters what nobody can read on its
own topic, being its only consumer of every type there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.customer_service.projections.events import ReceivedEvent, iso
from services.customer_service.projections.history import HANDLERS
from services.customer_service.projections.store import ProjectionStore
from services.customer_service.projections.timeline import DESCRIBE
from shared.contracts.customer_service import CUSTOMER_SERVICE_TYPES
from shared.contracts.envelope import Contract, Message
from shared.contracts.inventory import INVENTORY_TYPES
from shared.contracts.orders import ORDERS_TYPES
from shared.contracts.shipping import SHIPPING_TYPES
from shared.contracts.topics import CUSTOMER_SERVICE_EVENTS, INVENTORY_EVENTS, ORDERS_EVENTS, SHIPPING_EVENTS, Topic
from shared.messaging.inbox import Consumed
from shared.messaging.subscriptions import Handler, Subscription

TOPICS: tuple[tuple[Topic, Mapping[str, type[Contract]]], ...] = (
    (ORDERS_EVENTS, ORDERS_TYPES),
    (INVENTORY_EVENTS, INVENTORY_TYPES),
    (SHIPPING_EVENTS, SHIPPING_TYPES),
    (CUSTOMER_SERVICE_EVENTS, CUSTOMER_SERVICE_TYPES),
)


def projected_types(source: str) -> list[str]:
    """The types of `source` that change a history or add to its timeline."""
    return sorted({type_ for owner, type_ in (*HANDLERS, *DESCRIBE) if owner == source})


def received(source: str, message: Message[Any]) -> ReceivedEvent:
    return ReceivedEvent(
        event_id=str(message.event_id),
        source=source,
        type=message.type,
        occurred_at=iso(message.occurred_at),
        order_id=message.data.order_id,
        data=message.data.model_dump(mode="json"),
    )


def subscriptions(store: ProjectionStore) -> list[Subscription]:
    def project(source: str) -> Handler:
        async def on_event(message: Message[Any], consumed: Consumed) -> None:
            await store.record(received(source, message))

        return on_event

    return [
        Subscription(
            topic,
            types,
            {type_: project(topic.owner) for type_ in projected_types(topic.owner)},
            dead_letters_unreadable=topic is CUSTOMER_SERVICE_EVENTS,
        )
        for topic, types in TOPICS
    ]
