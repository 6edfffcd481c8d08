"""The one way services build their Kafka broker: safe delivery defaults, stated explicitly."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from shared.contracts.topics import ALL_TOPICS
from shared.messaging.kafka_security import PLAINTEXT, KafkaSecurity


def create_broker(
    bootstrap_servers: str, client_id: str, security: KafkaSecurity, middlewares: Sequence[Any] = ()
) -> KafkaBroker:
    return KafkaBroker(
        bootstrap_servers,
        client_id=client_id,
        security=security.faststream(),
        # aiokafka defaults to acks=1 without idempotence: a leader failover could lose or duplicate writes.
        enable_idempotence=True,
        acks="all",
        # FastStream's default (ACK_FIRST) auto-commits before handling, i.e. at most once. We commit after
        # the effect is stored, and an error seeks back so the message is delivered again.
        ack_policy=AckPolicy.NACK_ON_ERROR,
        middlewares=tuple(middlewares),
    )


async def ensure_topics(
    bootstrap_servers: str,
    partitions: int | None,
    replication_factor: int,
    names: Sequence[str] | None = None,
    prefix: str = "",
    security: KafkaSecurity = PLAINTEXT,
) -> None:
    """Create the system's topics (and DLQs) if missing; existing topics are left as they are.

    Partitions and retention come from `shared/contracts/topics.py` (the same numbers the Kubernetes
    KafkaTopics are generated from); `partitions` overrides the count for every topic when given.
    `names` creates ad-hoc topics instead (tests). A user without the right to create a topic (a service's, on
    a broker with ACLs) leaves it to the admin who provisions the stack (`deploy/local/kafka_acls.py`, Strimzi's
    KafkaTopics): its consumer then fails on a missing topic, not here.
    """
    specs = [_spec(name, partitions) for name in names] if names else _system_specs(partitions)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **security.client_kwargs())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(prefix + name, num_partitions=count, replication_factor=replication_factor, topic_configs=configs)
            for name, count, configs in specs
            if prefix + name not in existing
        ]
        if not wanted:
            return
        # Another service may create them at the same moment.
        with contextlib.suppress(TopicAlreadyExistsError):
            # Per-topic refusals (exists; not this user's to create) come back in the response, not raised.
            await admin.create_topics(wanted)
    finally:
        await admin.close()


TopicSpec = tuple[str, int, dict[str, str]]
DAY_MS = 24 * 3600 * 1000


def _system_specs(partitions: int | None) -> list[TopicSpec]:
    specs = []
    for topic in ALL_TOPICS:
        count = partitions or topic.partitions
        specs.append((topic.name, count, {"retention.ms": str(topic.retention_days * DAY_MS)}))
        specs.append((topic.dlq, count, {"retention.ms": str(topic.dlq_retention_days * DAY_MS)}))
    return specs


def _spec(name: str, partitions: int | None) -> TopicSpec:
    return (name, partitions or 1, {})
