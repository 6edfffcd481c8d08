"""What customer_service consumes: every order-related event of the four internal topics, into the projections.

Handlers are coroutines (the read models use the async MongoDB client): the consumer runtime awaits them on the
loop. Stock-level events (no order) are left alone. customer_service dead-letters what nobody can read on its
own topic, being its only consumer of every type there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
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
from shared.messaging.subscriptions import Subscription

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


def folded_in_batches(message: Message[Any]) -> None:
    """The types customer_service projects: the batch is folded by `ProjectionStore.record_many`, not per message."""


# Not about an order: carried out on the store (the customer's email lookups and data key), never folded.
ERASURE = "PersonalDataErased"


def subscriptions() -> list[Subscription]:
    return [
        Subscription(
            topic,
            types,
            {
                type_: folded_in_batches
                for type_ in (*projected_types(topic.owner), *([ERASURE] if topic is CUSTOMER_SERVICE_EVENTS else []))
            },
            dead_letters_unreadable=topic is CUSTOMER_SERVICE_EVENTS,
        )
        for topic, types in TOPICS
    ]


def project(store: ProjectionStore) -> Callable[[list[tuple[str, Message[Any]]]], Awaitable[None]]:
    async def apply_batch(messages: list[tuple[str, Message[Any]]]) -> None:
        erasures = [message.data for _, message in messages if message.type == ERASURE]
        await store.record_many([received(source, message) for source, message in messages if message.type != ERASURE])
        # After the batch's other events: what they brought in is erased too.
        for erasure in erasures:
            await store.erase_customer(erasure.customer_id, erasure.erasure_id)

    return apply_batch
