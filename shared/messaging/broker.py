"""The one way services build their Kafka broker: safe delivery defaults, stated explicitly."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from shared.contracts.topics import topic_names_with_dlqs


def create_broker(bootstrap_servers: str, client_id: str, middlewares: Sequence[Any] = ()) -> KafkaBroker:
    return KafkaBroker(
        bootstrap_servers,
        client_id=client_id,
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
    partitions: int,
    replication_factor: int,
    names: Sequence[str] | None = None,
    prefix: str = "",
) -> None:
    """Create the system's topics (and DLQs) if missing; existing topics are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [prefix + n for n in (names or topic_names_with_dlqs()) if prefix + n not in existing]
        if not wanted:
            return
        # Another service may create them at the same moment.
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(
                [NewTopic(name, num_partitions=partitions, replication_factor=replication_factor) for name in wanted]
            )
    finally:
        await admin.close()
