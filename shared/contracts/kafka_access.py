"""Who may do what on Kafka: one user per service and per outside producer, and the ACLs that follow.

Each service writes only the topic its event log feeds, reads only the topics it consumes, and writes the DLQs
of those (a poison message is copied to `<topic>.dlq` by its consumer). The storefront, the warehouse, the
carriers and the review platform write only their inbound topic. The same table makes the local broker's ACLs
(`deploy/local/kafka_acls.py`) and the Strimzi `KafkaUser`s of `deploy/k8s/` (checked by `deploy/k8s/validate.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from shared.contracts.topics import (
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

# Creates topics and ACLs, runs the tests' probes and the tools; a super user of the broker.
ADMIN_USER = "admin"


class Operation(IntEnum):
    """Kafka's AclOperation codes (the wire values of CreateAcls)."""

    READ = 3
    WRITE = 4
    DESCRIBE = 8
    DESCRIBE_CONFIGS = 10


class Resource(IntEnum):
    """Kafka's ResourceType codes."""

    TOPIC = 2
    GROUP = 3


class Pattern(IntEnum):
    """Kafka's PatternType codes."""

    LITERAL = 3
    PREFIXED = 4


@dataclass(frozen=True)
class KafkaUser:
    name: str
    writes: tuple[Topic, ...] = ()
    reads: tuple[Topic, ...] = ()
    # Topics it reads and may also write: a consumer rewrites a record that a producer with another partitioner
    # put on the wrong partition to its key's partition (shared/messaging/consumer.py). Only outside producers
    # can do that; the services' relays partition as the consumers do.
    forwards: tuple[Topic, ...] = ()

    @property
    def is_service(self) -> bool:
        return bool(self.reads)


@dataclass(frozen=True)
class AclEntry:
    principal: str
    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation


INTERNAL_READ_MODELS = (ORDERS_EVENTS, INVENTORY_EVENTS, SHIPPING_EVENTS, CUSTOMER_SERVICE_EVENTS)

USERS = (
    KafkaUser(
        "orders",
        writes=(ORDERS_EVENTS,),
        reads=(STOREFRONT_ORDERS, INVENTORY_EVENTS, SHIPPING_EVENTS, CUSTOMER_SERVICE_EVENTS),
        forwards=(STOREFRONT_ORDERS,),
    ),
    KafkaUser("inventory", writes=(INVENTORY_EVENTS,), reads=(WAREHOUSE_EVENTS, ORDERS_EVENTS, SHIPPING_EVENTS)),
    # customer_service.events.v1 for erasures (PersonalDataErased): shipments hold addresses.
    KafkaUser(
        "shipping",
        writes=(SHIPPING_EVENTS,),
        reads=(ORDERS_EVENTS, WAREHOUSE_EVENTS, CARRIER_TRACKING, CUSTOMER_SERVICE_EVENTS),
    ),
    KafkaUser("customer_service", writes=(CUSTOMER_SERVICE_EVENTS,), reads=(*INTERNAL_READ_MODELS, REVIEWS_EVENTS)),
    KafkaUser("reporting", writes=(REPORTING_EVENTS,), reads=INTERNAL_READ_MODELS),
    KafkaUser("storefront", writes=(STOREFRONT_ORDERS,)),
    KafkaUser("warehouse", writes=(WAREHOUSE_EVENTS,)),
    KafkaUser("carrier", writes=(CARRIER_TRACKING,)),
    KafkaUser("reviews", writes=(REVIEWS_EVENTS,)),
)
SERVICE_USERS = tuple(user for user in USERS if user.is_service)


def user_named(name: str) -> KafkaUser:
    for user in USERS:
        if user.name == name:
            return user
    raise KeyError(name)


def user_names() -> list[str]:
    """Every user the broker needs, the admin first."""
    return [ADMIN_USER, *(user.name for user in USERS)]


def acl_entries(user: KafkaUser, prefix: str = "") -> list[AclEntry]:
    """The ALLOW entries of `user` for the stack whose topics and groups carry `prefix` (empty in production).

    Topics are named exactly (LITERAL), so `orders.events.v1` never matches `orders.events.v1.dlq`; a service's
    consumer groups are `<prefix><service>.<purpose>`, one PREFIXED entry.
    """
    principal = f"User:{user.name}"

    def topic(name: str, operation: Operation) -> AclEntry:
        return AclEntry(principal, Resource.TOPIC, prefix + name, Pattern.LITERAL, operation)

    entries = [topic(t.name, Operation.WRITE) for t in (*user.writes, *user.forwards)]
    for read in user.reads:
        entries.append(topic(read.name, Operation.READ))
        entries.append(topic(read.dlq, Operation.WRITE))
        # The dead-letter writer reads the DLQ's max.message.bytes to know what fits.
        entries.append(topic(read.dlq, Operation.DESCRIBE_CONFIGS))
    if user.is_service:
        entries.append(AclEntry(principal, Resource.GROUP, f"{prefix}{user.name}.", Pattern.PREFIXED, Operation.READ))
    return entries


def all_acl_entries(prefix: str = "") -> list[AclEntry]:
    return [entry for user in USERS for entry in acl_entries(user, prefix)]
