"""Every Kafka topic of the system, defined once: the services create them locally from this list and the
Kubernetes manifests are checked against it."""

from __future__ import annotations

from dataclasses import dataclass

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class Topic:
    name: str
    key: str
    owner: str
    retention_days: int = 7

    @property
    def dlq(self) -> str:
        return self.name + DLQ_SUFFIX


# Inbound, fixed by CONTRACT.md.
STOREFRONT_ORDERS = Topic("storefront.orders", key="order_id", owner="storefront")
WAREHOUSE_EVENTS = Topic("warehouse.events", key="sku|shipment_id|order_id", owner="warehouse")
CARRIER_TRACKING = Topic("carrier.tracking", key="tracking_number", owner="carrier")

# Internal, each owned by the service whose event log feeds it. Event logs are the source of truth,
# so the topics only need to outlive consumer outages, not hold history forever.
ORDERS_EVENTS = Topic("orders.events.v1", key="order_id", owner="orders", retention_days=14)
INVENTORY_EVENTS = Topic("inventory.events.v1", key="order_id|sku", owner="inventory", retention_days=14)
SHIPPING_EVENTS = Topic("shipping.events.v1", key="order_id", owner="shipping", retention_days=14)
CUSTOMER_SERVICE_EVENTS = Topic(
    "customer_service.events.v1", key="order_id", owner="customer_service", retention_days=14
)

INBOUND = (STOREFRONT_ORDERS, WAREHOUSE_EVENTS, CARRIER_TRACKING)
INTERNAL = (ORDERS_EVENTS, INVENTORY_EVENTS, SHIPPING_EVENTS, CUSTOMER_SERVICE_EVENTS)
ALL_TOPICS = INBOUND + INTERNAL


def topic_names_with_dlqs() -> list[str]:
    return [name for topic in ALL_TOPICS for name in (topic.name, topic.dlq)]
