"""What customer_service consumes: every order-related event of the four internal topics, into the projections,
and the review platform's reviews (into the order's timeline; a negative one also opens a complaint case).

Handlers are coroutines (the read models use the async MongoDB client): the consumer runtime awaits them on the
loop. Stock-level events (no order) are left alone. customer_service dead-letters what nobody can read on its
own topic and on `reviews.events`, being the only consumer of every type there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from services.customer_service.application import Review, SupportApplication
from services.customer_service.projections.events import ReceivedEvent, iso
from services.customer_service.projections.history import HANDLERS
from services.customer_service.projections.store import ProjectionStore
from services.customer_service.projections.timeline import DESCRIBE
from shared.contracts.customer_service import CUSTOMER_SERVICE_TYPES
from shared.contracts.envelope import Contract, Message
from shared.contracts.inventory import INVENTORY_TYPES
from shared.contracts.orders import ORDERS_TYPES
from shared.contracts.reviews import REVIEWS_TYPES, ReviewSubmittedV1
from shared.contracts.shipping import SHIPPING_TYPES
from shared.contracts.topics import (
    CUSTOMER_SERVICE_EVENTS,
    INVENTORY_EVENTS,
    ORDERS_EVENTS,
    REVIEWS_EVENTS,
    SHIPPING_EVENTS,
    Topic,
)
from shared.messaging.subscriptions import Subscription

TOPICS: tuple[tuple[Topic, Mapping[str, type[Contract]]], ...] = (
    (ORDERS_EVENTS, ORDERS_TYPES),
    (INVENTORY_EVENTS, INVENTORY_TYPES),
    (SHIPPING_EVENTS, SHIPPING_TYPES),
    (CUSTOMER_SERVICE_EVENTS, CUSTOMER_SERVICE_TYPES),
    (REVIEWS_EVENTS, REVIEWS_TYPES),
)
# Topics no other service reads: customer_service dead-letters their unreadable messages.
SOLE_CONSUMER = (CUSTOMER_SERVICE_EVENTS, REVIEWS_EVENTS)


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
            dead_letters_unreadable=topic in SOLE_CONSUMER,
        )
        for topic, types in TOPICS
    ]


def project(
    store: ProjectionStore, app: SupportApplication, fold: Callable[[list[ReceivedEvent]], Awaitable[None]]
) -> Callable[[list[tuple[str, Message[Any]]]], Awaitable[None]]:
    """`fold`: how a batch's events are folded into the store (`store.record_many`, combined with the batches the
    process's other logs fold at the same moment: shared/messaging/coalesce.py)."""

    async def apply_batch(messages: list[tuple[str, Message[Any]]]) -> None:
        erasures = [message.data for _, message in messages if message.type == ERASURE]
        await fold([received(source, message) for source, message in messages if message.type != ERASURE])
        # After the batch's other events: what they brought in is erased too.
        for erasure in erasures:
            await store.erase_customer(erasure.customer_id, erasure.erasure_id)
        # After the projection, so the review is on the timeline when its case opens. A batch run again opens
        # nothing twice: a complaint's id is its review's.
        for _, message in messages:
            if isinstance(message.data, ReviewSubmittedV1):
                await open_complaint(store, app, message.data)

    return apply_batch


async def open_complaint(store: ProjectionStore, app: SupportApplication, review: ReviewSubmittedV1) -> None:
    history = await store.history(review.order_id)
    placed = (history or {}).get("placed") or {}
    value = float(placed["total"]) if placed.get("total") is not None else None
    command = Review(review.review_id, review.order_id, review.rating, review.text, value)
    await asyncio.to_thread(app.open_complaint, command)
