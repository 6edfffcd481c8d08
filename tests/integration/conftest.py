"""Real infrastructure for integration tests.

By default the project's own Kafka and FerretDB are used, started here if they are not running yet
(`fulfillment-infra up` is idempotent). `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URL` point the tests at
servers someone else runs (`KAFKA_SECURITY_PROTOCOL` / `KAFKA_SASL_*` as its user). With
`FULFILLMENT_TESTCONTAINERS=1` and a Docker daemon that answers, both come from testcontainers instead (Kafka
without authentication there).

On the project's own broker every client authenticates: the tests as its admin, each service process as its own
user, the storefront, warehouse and carriers as theirs (`tests/kafka_probe.py`); the session's topics and ACLs
are made for its prefix before anything runs.
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
from pymongo.asynchronous.database import AsyncDatabase

from shared.messaging.kafka_security import KafkaSecurity
from shared.telemetry.store_commands import count_store_commands
from tests.actors import Outside, outside_world
from tests.infrastructure import docker_answers, start_containers
from tests.kafka_users import ADMIN, security_for
from tests.processes import grant_prefix
from tests.stack import RunningStack
from tests.support_desk import TINY_URGENT_TARGET

# One namespace per test session: its topics, consumer groups and databases meet no other run's (nor a
# stack started with ./run-system.sh on the same servers).
SESSION = f"t{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Infrastructure:
    kafka_bootstrap_servers: str
    mongodb_url: str
    topic_prefix: str = f"{SESSION}."
    database_prefix: str = f"{SESSION}_"

    def security(self, user: str = ADMIN) -> KafkaSecurity:
        """How this session connects to its broker as `user` (the admin unless named)."""
        return security_for(user)

    def kafka_settings(self, user: str = ADMIN) -> dict[str, Any]:
        """The same as `ServiceSettings` fields, for a runtime built inside the test process."""
        security = self.security(user)
        return {
            "kafka_security_protocol": security.protocol,
            "kafka_sasl_mechanism": security.mechanism,
            "kafka_sasl_username": security.username,
            "kafka_sasl_password": security.password,
        }

    def env(self) -> dict[str, str]:
        """What a service process of this test session is started with (its Kafka user is added per service by
        `tests/processes.py`)."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "MONGODB_URL": self.mongodb_url,
            "TOPIC_PREFIX": self.topic_prefix,
            "DATABASE_PREFIX": self.database_prefix,
        }


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[Infrastructure]:
    if os.environ.get("FULFILLMENT_TESTCONTAINERS") == "1" and docker_answers():
        os.environ.setdefault("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
        with start_containers() as (kafka, mongo):
            yield Infrastructure(kafka, mongo)
        return

    from deploy.local.cli import up
    from deploy.local.layout import LocalLayout

    layout = LocalLayout.from_env()
    up(layout)
    infrastructure = Infrastructure(
        os.environ.get("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{layout.kafka_port}"),
        os.environ.get("MONGODB_URL", f"mongodb://127.0.0.1:{layout.mongo_port}"),
    )
    grant_prefix(infrastructure.kafka_bootstrap_servers, infrastructure.topic_prefix)
    yield infrastructure


@contextmanager
def own_stack(
    infrastructure: Infrastructure,
    log_dir: Path,
    namespace: str,
    replicas: int = 1,
    settings: dict[str, str] | None = None,
) -> Iterator[RunningStack]:
    """A stack on topics and databases of its own (`namespace`), for a module that changes what runs; `settings`
    are extra environment of its services."""
    env = {
        **infrastructure.env(),
        **(settings or {}),
        "TOPIC_PREFIX": f"{namespace}.",
        "DATABASE_PREFIX": f"{namespace}_",
    }
    running = RunningStack(env, log_dir, replicas=replicas)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@asynccontextmanager
async def outside_of(stack: RunningStack, infrastructure: Infrastructure) -> AsyncIterator[Outside]:
    """Storefront, warehouse and carriers of that stack's namespace."""
    async with outside_world(infrastructure.kafka_bootstrap_servers, stack.env["TOPIC_PREFIX"]) as world:
        yield world


@pytest.fixture(scope="session")
def stack(infrastructure: Infrastructure, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The four services as processes, started once for the session's flow tests."""
    running = RunningStack({**infrastructure.env(), **TINY_URGENT_TARGET}, tmp_path_factory.mktemp("service-logs"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
async def outside(infrastructure: Infrastructure) -> AsyncIterator[Outside]:
    """Storefront, warehouse and carriers: real producers on the contract topics, each as its own Kafka user."""
    async with outside_world(infrastructure.kafka_bootstrap_servers, infrastructure.topic_prefix) as world:
        yield world


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


@pytest.fixture
async def counted_database(infrastructure: Infrastructure, unique: str) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """A fresh database whose client's round trips are counted as the services count theirs (STORE_COMMANDS)."""
    count_store_commands()  # every client made from here on
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infrastructure.mongodb_url)
    yield client[f"test_counted_{unique}"]
    await client.drop_database(f"test_counted_{unique}")
    await client.close()
