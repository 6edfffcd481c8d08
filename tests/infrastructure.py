"""Where tests get Kafka and MongoDB from when a Docker engine is available (a laptop, not our CI)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


def docker_answers() -> bool:
    """A running daemon, not just a `docker` client on PATH (our machines have the client only)."""
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@contextmanager
def start_containers() -> Iterator[tuple[str, str]]:
    # Imported and constructed here, never at import time: construction itself needs the daemon.
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer

    with KafkaContainer().with_kraft() as kafka, MongoDbContainer("mongo:7") as mongo:
        yield kafka.get_bootstrap_server(), mongo.get_connection_url()
