"""The key vault on FerretDB: one key per customer whoever creates it, erasure once per erasure id, and no
pre-erasure plaintext sealed under a new key."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from pymongo import MongoClient
from pymongo.collection import Collection

from shared.personal_data import ERASED, KEYS_COLLECTION, ErasureRaced, KeyVault, PlaintextSealer, Sealer
from tests.integration.conftest import Infrastructure


@pytest.fixture
def keys(infrastructure: Infrastructure, unique: str) -> Iterator[Collection[dict[str, Any]]]:
    client: MongoClient[dict[str, Any]] = MongoClient(infrastructure.mongodb_url, uuidRepresentation="standard")
    database = f"{infrastructure.database_prefix}vault_{unique}"
    client[database].create_collection(KEYS_COLLECTION)
    yield client[database][KEYS_COLLECTION]
    client.drop_database(database)
    client.close()


def test_replicas_meeting_a_new_customer_at_once_agree_on_one_key(keys: Collection[dict[str, Any]]) -> None:
    vaults = [KeyVault(keys) for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda vault: vault.current("C-1"), vaults))

    assert len({(key.kid, key.secret) for key in found}) == 1
    assert keys.count_documents({"subject": "C-1"}) == 1


def test_what_one_replica_sealed_another_opens_until_the_erasure(keys: Collection[dict[str, Any]]) -> None:
    writer, reader = Sealer(KeyVault(keys)), Sealer(KeyVault(keys))
    sealed = writer.seal({"id": "C-1", "email": "ana@example.com", "name": None}, "C-1", ("email", "name"), "customer")

    assert "ana@example.com" not in str(sealed) and sealed["name"] is None
    assert reader.open(sealed, "customer") == {"id": "C-1", "email": "ana@example.com", "name": None}
    with pytest.raises(InvalidTag):
        reader.open(sealed, "shipping_address")  # bound to what it is: not movable to another field

    assert KeyVault(keys).erase("C-1", "E-1") == 1
    reader.vault.refresh(force=True)
    assert reader.open(sealed, "customer") == {"id": "C-1", "email": ERASED, "name": None}


def test_an_erasure_redelivered_after_a_new_order_keeps_the_new_key(keys: Collection[dict[str, Any]]) -> None:
    vault = KeyVault(keys)
    vault.refresh()
    first = vault.current("C-1")
    assert vault.erase("C-1", "E-1") == 1
    vault.refresh(force=True)  # the next batch
    second = vault.current("C-1")

    assert second.kid != first.kid
    assert vault.erase("C-1", "E-1") == 0  # the same erasure again
    assert vault.secret(second.kid) == second.secret and vault.secret(first.kid) is None


def test_a_writer_that_missed_an_erasure_does_not_seal_under_a_new_key(keys: Collection[dict[str, Any]]) -> None:
    KeyVault(keys).current("C-1")
    writer = KeyVault(keys)
    writer.refresh()  # it last looked before the erasure, and holds the customer's data (not the key) in memory
    KeyVault(keys).erase("C-1", "E-1")

    with pytest.raises(ErasureRaced):
        writer.current("C-1")
    # Run again (after dropping what it held), it seals the new order's data under a new key.
    assert writer.current("C-1").kid == "key:C-1#1"


def test_with_sealing_off_new_values_need_no_key_and_what_was_sealed_still_opens_and_erases(
    keys: Collection[dict[str, Any]],
) -> None:
    sealed = Sealer(KeyVault(keys)).seal({"id": "C-1", "email": "ana@example.com"}, "C-1", ("email",), "customer")
    unsealed = PlaintextSealer(KeyVault(keys))

    plain = unsealed.seal({"id": "C-2", "email": "rui@example.com"}, "C-2", ("email",), "customer")
    assert plain == {"id": "C-2", "email": "rui@example.com"}
    assert keys.count_documents({"subject": "C-2"}) == 0  # no key made for what is stored in the clear
    assert unsealed.open(sealed, "customer") == {"id": "C-1", "email": "ana@example.com"}

    assert KeyVault(keys).erase("C-1", "E-1") == 1
    unsealed.vault.refresh(force=True)
    assert unsealed.open(sealed, "customer") == {"id": "C-1", "email": ERASED}
