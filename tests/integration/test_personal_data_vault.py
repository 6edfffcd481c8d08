"""The key vault on FerretDB: one key per customer whoever creates it, erasure once per erasure id, and no
pre-erasure plaintext sealed under a new key."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from pymongo import MongoClient, monitoring
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


class _Inserts(monitoring.CommandListener):
    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.count += event.command_name == "insert"

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def test_a_batch_of_new_customers_gets_its_keys_in_one_insert_and_known_ones_keep_theirs(
    infrastructure: Infrastructure, keys: Collection[dict[str, Any]]
) -> None:
    returning = KeyVault(keys).current("C-old")
    KeyVault(keys).current("C-erased")
    KeyVault(keys).erase("C-erased", "E-1")
    inserts = _Inserts()
    client: MongoClient[dict[str, Any]] = MongoClient(infrastructure.mongodb_url, event_listeners=[inserts])
    try:
        vault = KeyVault(client[keys.database.name][KEYS_COLLECTION])
        vault.refresh()
        new = [f"C-{n}" for n in range(20)]

        vault.prepare([*new, "C-old", "C-erased", *new])
        assert inserts.count == 2  # the batch's, and the erased customer's next generation
        found = {subject: vault.current(subject) for subject in new}
        assert inserts.count == 2  # every customer's key was remembered: no insert, no read

        # What was remembered is what is stored, and another process opens with it.
        for subject, key in found.items():
            stored = keys.find_one({"_id": key.kid})
            assert stored is not None and bytes(stored["key"]) == key.secret and key.kid == f"key:{subject}#0"
        assert vault.current("C-old") == returning  # read, not replaced
        assert vault.current("C-erased").kid == "key:C-erased#1"  # after an erasure: a new generation
        assert inserts.count == 2
        # + C-old, both of C-erased's, the erasure record and the erasure token
        assert keys.count_documents({}) == len(new) + 5
    finally:
        client.close()


def test_replicas_preparing_the_same_new_customers_at_once_agree_on_their_keys(
    keys: Collection[dict[str, Any]],
) -> None:
    subjects = [f"C-{n}" for n in range(30)]
    vaults = [KeyVault(keys) for _ in range(6)]

    def prepare_then_read(vault: KeyVault) -> dict[str, tuple[str, bytes]]:
        vault.prepare(subjects)
        return {subject: (key.kid, key.secret) for subject in subjects for key in [vault.current(subject)]}

    with ThreadPoolExecutor(len(vaults)) as pool:
        seen = list(pool.map(prepare_then_read, vaults))

    assert all(view == seen[0] for view in seen)
    assert keys.count_documents({}) == len(subjects)
    for kid, secret in seen[0].values():
        stored = keys.find_one({"_id": kid})
        assert stored is not None and bytes(stored["key"]) == secret
