"""Per-test FerretDB/MongoDB databases for the event-store tests (imported explicitly)."""

from __future__ import annotations

import os
from unittest import TestCase
from uuid import uuid4

from pymongo import MongoClient

from deploy.local.layout import LocalLayout
from shared.eventstore.datastore import MongoDatastore, MongoSettings

# The server the project's own tool runs (on FULFILLMENT_MONGO_PORT when moved), unless another is named.
MONGODB_URL = os.environ.get("MONGODB_URL") or f"mongodb://127.0.0.1:{LocalLayout.from_env().mongo_port}"


def new_database_name() -> str:
    return "es_test_" + uuid4().hex[:16]


def drop_database(name: str) -> None:
    client: MongoClient[dict[str, object]] = MongoClient(MONGODB_URL)
    try:
        client.drop_database(name)
    finally:
        client.close()


class FreshDatabase(TestCase):
    """Gives each test its own database, via the environment the library reads."""

    database_name: str
    _saved_env: dict[str, str | None]

    def setUp(self) -> None:
        self.database_name = new_database_name()
        env = {
            "PERSISTENCE_MODULE": "shared.eventstore",
            "MONGODB_URL": MONGODB_URL,
            "MONGODB_DATABASE": self.database_name,
        }
        self._saved_env = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        self._datastores: list[MongoDatastore] = []
        self.database_ready()
        super().setUp()

    def database_ready(self) -> None:
        """Hook for cases whose base setUp needs the database name."""

    def tearDown(self) -> None:
        super().tearDown()
        for datastore in self._datastores:
            datastore.close()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        drop_database(self.database_name)

    def datastore(self) -> MongoDatastore:
        datastore = MongoDatastore(MongoSettings(url=MONGODB_URL, database=self.database_name))
        self._datastores.append(datastore)
        return datastore
