"""The Kafka users a test connects as: the local broker's (made at storage format time), or the environment's."""

from __future__ import annotations

from deploy.local import kafka_users
from shared.messaging.kafka_security import KafkaSecurity

ADMIN = kafka_users.ADMIN


def local_users() -> bool:
    """Whether the session's broker is the project's own, with its SCRAM users and ACLs."""
    return kafka_users.local_broker()


def security_for(user: str = ADMIN) -> KafkaSecurity:
    """How a test connects as `user` (a service, `storefront`, `warehouse`, `carrier`, or the admin): the local
    broker's SCRAM user, else what KAFKA_* in the environment says (someone else's broker; testcontainers')."""
    return KafkaSecurity.from_env(kafka_users.tool_env(user))
