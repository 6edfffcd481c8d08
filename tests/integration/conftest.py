"""Real infrastructure for integration tests.

By default the project's own Kafka and FerretDB are used, started here if they are not running yet
(`fulfillment-infra up` is idempotent). `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URL` point the tests at
servers someone else runs. With `FULFILLMENT_TESTCONTAINERS=1` and a Docker daemon that answers, both
come from testcontainers instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from tests.actors import Outside
from tests.infrastructure import docker_answers, start_containers
from tests.kafka_probe import producer
from tests.stack import RunningStack

# One namespace per test session: its topics, consumer groups and databases meet no other run's (nor a
# stack started with ./run-system.sh on the same servers).
SESSION = f"t{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Infrastructure:
    kafka_bootstrap_servers: str
    mongodb_url: str
    topic_prefix: str = f"{SESSION}."
    database_prefix: str = f"{SESSION}_"

    def env(self) -> dict[str, str]:
        """What a service process of this test session is started with."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "MONGODB_URL": self.mongodb_url,
            "TOPIC_PREFIX": self.topic_prefix,
            "DATABASE_PREFIX": self.database_prefix,
        }


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[Infrastructure]:
    if os.environ.get("FULFILLMENT_TESTCONTAINERS") == "1" and docker_answers():
        with start_containers() as (kafka, mongo):
            yield Infrastructure(kafka, mongo)
        return

    from deploy.local.cli import up
    from deploy.local.layout import LocalLayout

    layout = LocalLayout.from_env()
    up(layout)
    yield Infrastructure(
        os.environ.get("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{layout.kafka_port}"),
        os.environ.get("MONGODB_URL", f"mongodb://127.0.0.1:{layout.mongo_port}"),
    )


@contextmanager
def own_stack(
    infrastructure: Infrastructure, log_dir: Path, namespace: str, replicas: int = 1
) -> Iterator[RunningStack]:
    """A stack on topics and databases of its own (`namespace`), for a module that changes what runs."""
    env = {**infrastructure.env(), "TOPIC_PREFIX": f"{namespace}.", "DATABASE_PREFIX": f"{namespace}_"}
    running = RunningStack(env, log_dir, replicas=replicas)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@asynccontextmanager
async def outside_of(stack: RunningStack, infrastructure: Infrastructure) -> AsyncIterator[Outside]:
    """Storefront, warehouse and carriers of that stack's namespace."""
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        yield Outside(kafka, stack.env["TOPIC_PREFIX"])


@pytest.fixture(scope="session")
def stack(infrastructure: Infrastructure, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The four services as processes, started once for the session's flow tests."""
    running = RunningStack(infrastructure.env(), tmp_path_factory.mktemp("service-logs"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
async def outside(infrastructure: Infrastructure) -> AsyncIterator[Outside]:
    """Storefront, warehouse and carriers: real producers on the contract topics."""
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        yield Outside(kafka, infrastructure.topic_prefix)


@pytest.fixture
def unique() -> str:
    """A fresh suffix for topic, group and database names, so tests never see each other's data."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
async def mongo(infrastructure: Infrastructure) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infrastructure.mongodb_url, uuidRepresentation="standard"
    )
    yield client
    await client.close()
