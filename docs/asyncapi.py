"""The AsyncAPI document of every topic and event contract, generated from the code: `python -m docs.asyncapi`.

One FastStream `KafkaBroker` (never connected) is declared the way the system really uses Kafka:
- per service, one subscriber per subscription that its `policies.subscriptions(...)` returns (one consumer
  group per service over all its topics, see `GROUPS`), documented with the envelope of every type it handles;
- per topic, one publisher for its producer (a service's outbox relay, or the external storefront, warehouse
  and carriers), documented with every type of the topic, naming who consumes which types;
- per topic, one publisher for its dead-letter twin, naming who dead-letters into it.

Each message is documented as the envelope with `type` fixed and `data` the contract model; a channel with
several types gets their union, discriminated by `type`. The output is sorted JSON without timestamps, so
`tests/unit/test_asyncapi_up_to_date.py` can compare the committed file with a fresh generation.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from uuid import UUID

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import AwareDatetime, BaseModel, Field, create_model

from shared.contracts.carrier import CARRIER_TYPES
from shared.contracts.customer_service import CUSTOMER_SERVICE_TYPES
from shared.contracts.envelope import Contract
from shared.contracts.inventory import INVENTORY_TYPES
from shared.contracts.orders import ORDERS_TYPES
from shared.contracts.reporting import REPORTING_TYPES
from shared.contracts.reviews import REVIEWS_TYPES
from shared.contracts.shipping import SHIPPING_TYPES
from shared.contracts.storefront import STOREFRONT_TYPES
from shared.contracts.topics import (
    ALL_TOPICS,
    CARRIER_TRACKING,
    CUSTOMER_SERVICE_EVENTS,
    INVENTORY_EVENTS,
    ORDERS_EVENTS,
    REPORTING_EVENTS,
    REVIEWS_EVENTS,
    SHIPPING_EVENTS,
    STOREFRONT_ORDERS,
    WAREHOUSE_EVENTS,
    Topic,
)
from shared.contracts.warehouse import WAREHOUSE_TYPES
from shared.messaging.kafka_security import KafkaSecurity
from shared.messaging.subscriptions import Subscription

OUTPUT = Path(__file__).with_name("asyncapi.json")
# One consumer group per service, over every topic it reads (shared/messaging/consumer.py).
GROUPS = {
    "orders": "orders.processing",
    "inventory": "inventory.processing",
    "shipping": "shipping.processing",
    "customer_service": "customer_service.projections",
    "reporting": "reporting.processing",
}
IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}

TOPIC_TYPES: dict[str, Mapping[str, type[Contract]]] = {
    STOREFRONT_ORDERS.name: STOREFRONT_TYPES,
    WAREHOUSE_EVENTS.name: WAREHOUSE_TYPES,
    CARRIER_TRACKING.name: CARRIER_TYPES,
    REVIEWS_EVENTS.name: REVIEWS_TYPES,
    ORDERS_EVENTS.name: ORDERS_TYPES,
    INVENTORY_EVENTS.name: INVENTORY_TYPES,
    SHIPPING_EVENTS.name: SHIPPING_TYPES,
    CUSTOMER_SERVICE_EVENTS.name: CUSTOMER_SERVICE_TYPES,
    REPORTING_EVENTS.name: REPORTING_TYPES,
}
# Who sends on the inbound topics (CONTRACT.md); internal topics are sent by their owner's outbox relay.
EXTERNAL_PRODUCERS = {
    STOREFRONT_ORDERS.name: "the storefront",
    WAREHOUSE_EVENTS.name: "the warehouse system / logistics team",
    CARRIER_TRACKING.name: "the carriers",
    REVIEWS_EVENTS.name: "the review platform",
}


class EnvelopeDoc(BaseModel):
    """Every message on every topic: a UTF-8 JSON object (CONTRACT.md). Unknown extra fields are ignored."""

    event_id: UUID = Field(description="Unique per event; a repeated event_id has no further effect")
    occurred_at: AwareDatetime = Field(description="RFC 3339 with offset or Z")
    traceparent: str | None = Field(None, description="W3C trace context (also accepted as a header)")


@dataclass(frozen=True)
class Consumer:
    service: str
    subscription: Subscription

    @property
    def handled(self) -> list[str]:
        return sorted(self.subscription.handlers)


def consumers() -> list[Consumer]:
    """Every service's subscriptions, as its bootstrap builds them (on in-memory persistence, never connected)."""
    from services.customer_service.policies import subscriptions as customer_service_subscriptions
    from services.inventory.application import InventoryApplication
    from services.inventory.policies import subscriptions as inventory_subscriptions
    from services.orders.application import OrdersApplication
    from services.orders.policies import subscriptions as orders_subscriptions
    from services.reporting.policies import subscriptions as reporting_subscriptions
    from services.shipping.application import ShippingApplication
    from services.shipping.policies import subscriptions as shipping_subscriptions

    by_service: list[tuple[str, list[Subscription]]] = [
        ("orders", orders_subscriptions(OrdersApplication(env=IN_MEMORY))),
        ("inventory", inventory_subscriptions(InventoryApplication(env=IN_MEMORY))),
        ("shipping", shipping_subscriptions(ShippingApplication(env=IN_MEMORY))),
        ("customer_service", customer_service_subscriptions()),
        ("reporting", reporting_subscriptions()),
    ]
    return [Consumer(service, subscription) for service, subscriptions in by_service for subscription in subscriptions]


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace(".", "_").split("_"))


def message_model(topic: Topic, type_: str) -> type[BaseModel]:
    """The envelope of one type on one topic. Named by topic owner and type: the warehouse's and shipping's
    `ShipmentDispatched` are different contracts and must not share a schema name."""
    name = f"{_camel(topic.owner)}{type_}"
    payload = TOPIC_TYPES[topic.name][type_]
    fixed: Any = Literal[type_]  # built at run time: one literal per event type
    data = create_model(f"{name}Data", __base__=payload, __doc__=payload.__doc__ or f"`data` of {type_}")
    return create_model(
        name,
        __base__=EnvelopeDoc,
        __doc__=f"{type_} on {topic.name}",
        type=(fixed, Field(description="The event type")),
        data=(data, ...),
    )


def message_schema(topic: Topic, types: Sequence[str]) -> Any:
    """One type's envelope, or the union of several discriminated by `type`."""
    models = tuple(message_model(topic, type_) for type_ in sorted(types))
    if len(models) == 1:
        return models[0]
    return Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007 - a runtime tuple of models


def _documented_handler(name: str, schema: Any) -> Callable[[Any], Awaitable[None]]:
    async def handler(body: Any) -> None:
        """Documentation only: the real subscriber is shared.messaging.consumer."""

    # FastStream reads the message schema from the body annotation.
    handler.__annotations__ = {"body": schema, "return": None}
    handler.__name__ = handler.__qualname__ = name
    return handler


def build_broker() -> KafkaBroker:
    # Declared, never connected: the document states that every client authenticates with SCRAM-SHA-512 (its own
    # user; shared/contracts/kafka_access.py), over TLS in production. No credentials are in it.
    security = KafkaSecurity("SASL_SSL", username="<your user>", password="<from your user's Secret>")
    broker = KafkaBroker(
        "127.0.0.1:9092",
        description="Kafka: every topic of the system, with its .dlq twin",
        security=security.faststream(),
    )
    found = consumers()
    for consumer in found:
        topic = consumer.subscription.topic
        group = GROUPS[consumer.service]
        notes = (
            "; dead-letters unreadable messages of the topic" if consumer.subscription.dead_letters_unreadable else ""
        )
        broker.subscriber(
            topic.name,
            group_id=group,
            title=f"{group}:{topic.name}",
            description=f"Consumed by {consumer.service} (group {group}): {', '.join(consumer.handled)}{notes}.",
        )(_documented_handler(f"on_{_camel(topic.name)}_{consumer.service}", message_schema(topic, consumer.handled)))
    for topic in ALL_TOPICS:
        readers = [consumer for consumer in found if consumer.subscription.topic == topic]
        producer = EXTERNAL_PRODUCERS.get(topic.name, f"the {topic.owner} service (outbox relay of its event log)")
        read_by = "; ".join(f"{c.service} ({', '.join(c.handled)})" for c in readers) or "no service yet"
        broker.publisher(
            topic.name,
            title=f"{topic.owner}:{topic.name}",
            description=f"Produced by {producer}, key {topic.key}. Consumed by: {read_by}.",
            schema=message_schema(topic, list(TOPIC_TYPES[topic.name])),
        )
        dead_letterers = sorted({consumer.service for consumer in readers})
        unreadable = [c.service for c in readers if c.subscription.dead_letters_unreadable]
        broker.publisher(
            topic.dlq,
            title=f"dlq:{topic.dlq}",
            description=(
                f"Dead letters of {topic.name}, produced by {', '.join(dead_letterers) or 'no service yet'}: "
                f"the original message copied unchanged (key, value, headers) with headers `error` (the reason, "
                f"naming the field), `error-type`, `error-consumer`, `original-topic`, `original-partition`, "
                f"`original-offset`. Unreadable messages (bad JSON, envelope or type) are copied once, by "
                f"{', '.join(unreadable) or 'nobody'}; invalid data by the service handling that type. "
                f"Read by people, not by services."
            ),
            schema=message_schema(topic, list(TOPIC_TYPES[topic.name])),
        )
    return broker


def generate() -> str:
    spec = AsyncAPI(
        build_broker(),
        title="Order fulfillment: topics and event contracts",
        version="1.0.0",
        description="Inbound topics are fixed by CONTRACT.md; `*.events.v1` are the services' own, published from "
        "their event logs. Generated by `python -m docs.asyncapi`; do not edit by hand.",
        schema_version="3.0.0",
    )
    return json.dumps(spec.to_specification().to_jsonable(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    OUTPUT.write_text(generate(), encoding="utf-8")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
