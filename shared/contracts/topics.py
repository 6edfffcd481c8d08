"""Every Kafka topic of the system, defined once: the services create them locally from this list and the
Kubernetes manifests are checked against it."""

from __future__ import annotations

from dataclasses import dataclass

DLQ_SUFFIX = ".dlq"
# One count for every topic: the services' own fallback topic creation (TOPIC_PARTITIONS) takes a single number,
# and it bounds how many replicas of a consumer can share the work (a service's HPA maxReplicas).
DEFAULT_PARTITIONS = 6


@dataclass(frozen=True)
class Topic:
    name: str
    key: str
    owner: str
    retention_days: int = 7
    # Added fields keep a default so that every existing `Topic(...)` call stays valid.
    partitions: int = DEFAULT_PARTITIONS
    # Dead letters wait for a person to look at them, so they outlive the topic's own retention.
    dlq_retention_days: int = 30

    @property
    def dlq(self) -> str:
        return self.name + DLQ_SUFFIX


# Inbound, fixed by CONTRACT.md.
STOREFRONT_ORDERS = Topic("storefront.orders", key="order_id", owner="storefront", partitions=DEFAULT_PARTITIONS)
WAREHOUSE_EVENTS = Topic(
    "warehouse.events", key="sku|shipment_id|order_id", owner="warehouse", partitions=DEFAULT_PARTITIONS
)
CARRIER_TRACKING = Topic("carrier.tracking", key="tracking_number", owner="carrier", partitions=DEFAULT_PARTITIONS)
# Inbound too, added after CONTRACT.md in its envelope: the review platform's reviews of orders.
REVIEWS_EVENTS = Topic("reviews.events", key="order_id", owner="reviews", partitions=DEFAULT_PARTITIONS)

# Internal, each owned by the service whose event log feeds it. Event logs are the source of truth,
# so the topics only need to outlive consumer outages, not hold history forever.
ORDERS_EVENTS = Topic(
    "orders.events.v1", key="order_id", owner="orders", retention_days=14, partitions=DEFAULT_PARTITIONS
)
INVENTORY_EVENTS = Topic(
    "inventory.events.v1", key="order_id|sku", owner="inventory", retention_days=14, partitions=DEFAULT_PARTITIONS
)
SHIPPING_EVENTS = Topic(
    "shipping.events.v1", key="order_id", owner="shipping", retention_days=14, partitions=DEFAULT_PARTITIONS
)
CUSTOMER_SERVICE_EVENTS = Topic(
    "customer_service.events.v1",
    key="order_id",
    owner="customer_service",
    retention_days=14,
    partitions=DEFAULT_PARTITIONS,
)
# Derived by the reporting service from the others (replenishment signals for purchasing), keyed by sku.
REPORTING_EVENTS = Topic("reporting.events.v1", key="sku", owner="reporting", retention_days=14)

INBOUND = (STOREFRONT_ORDERS, WAREHOUSE_EVENTS, CARRIER_TRACKING, REVIEWS_EVENTS)
INTERNAL = (ORDERS_EVENTS, INVENTORY_EVENTS, SHIPPING_EVENTS, CUSTOMER_SERVICE_EVENTS, REPORTING_EVENTS)
ALL_TOPICS = INBOUND + INTERNAL


def topic_names_with_dlqs() -> list[str]:
    return [name for topic in ALL_TOPICS for name in (topic.name, topic.dlq)]


def topic_by_name(name: str) -> Topic:
    """The topic named `name`, or the one whose dead-letter twin it is."""
    for topic in ALL_TOPICS:
        if name in (topic.name, topic.dlq):
            return topic
    raise KeyError(name)
