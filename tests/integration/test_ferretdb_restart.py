"""The local store starts again after it was stopped while it was creating a database (found: a test run cut off
at that point left a database file without FerretDB's metadata table, and FerretDB then refused to start)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient

from deploy.local.ferretdb import FerretDBNode
from deploy.local.layout import LocalLayout
from tests.integration.conftest import Infrastructure
from tests.stack import free_port


@pytest.fixture
def private_store(tmp_path: Path, infrastructure: Infrastructure) -> Iterator[FerretDBNode]:
    # The main stack's built binary, a private data dir and port: stopping this store harms no other test.
    layout = LocalLayout(tmp_path, LocalLayout.from_env().cache, mongo_port=free_port())
    node = FerretDBNode(layout, port=layout.mongo_port)
    node.install()
    layout.run.mkdir(parents=True)
    yield node
    node.process.stop()


def test_a_database_file_cut_off_before_its_first_table_does_not_stop_the_store(private_store: FerretDBNode) -> None:
    private_store.start()
    client: MongoClient[dict[str, object]] = MongoClient(private_store.url)
    client["kept"]["orders"].insert_one({"_id": "o-1", "total": "10.00"})
    client.close()
    private_store.process.stop()
    # What the cut-off creation leaves: an SQLite file in WAL mode holding no table.
    cut_off = private_store.data_dir / "cut_off.sqlite"
    with sqlite3.connect(cut_off) as empty:
        empty.execute("PRAGMA journal_mode=wal")
    assert cut_off.exists()

    private_store.start()

    client = MongoClient(private_store.url)
    try:
        assert client["kept"]["orders"].find_one({"_id": "o-1"}) == {"_id": "o-1", "total": "10.00"}
        assert "cut_off" not in client.list_database_names()
        client["cut_off"]["c"].insert_one({"_id": 1})  # the name can be used again
        assert client["cut_off"]["c"].count_documents({}) == 1
    finally:
        client.close()
    assert "without any table" in private_store.process.log_file.read_text()
