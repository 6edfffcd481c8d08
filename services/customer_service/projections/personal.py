"""Personal data in customer_service's documents: which fields are personal, sealed as they are stored and
opened as they are read (the projections and views work on plain values), and email lookups by keyed hash.

Sealed where written: the received-events log (`data.customer`, `data.shipping_address`), the histories
(`placed.customer`, `placed.shipping_address`) and the summaries (`email`, `customer_name`). The lookup
`email:<address>` is stored as `email:<HMAC of the address>`. Every call may read the key vault (a point lookup
on a cache miss): the store runs them off the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.customer_service.config import CustomerServiceSettings
from shared.eventstore.datastore import MongoDatastore, MongoSettings
from shared.personal_data import ERASED, KEYS_COLLECTION, BlindIndex, KeyVault, Sealer, sealer_for
from shared.personal_data.fields import ADDRESS_FIELDS, CUSTOMER_FIELDS
from shared.personal_data.sealing import personal_fields

SUMMARY_FIELDS = ("email", "customer_name")
# The parts of an event's data (and of a history's `placed`) that hold personal fields.
PARTS = (("customer", CUSTOMER_FIELDS), ("shipping_address", ADDRESS_FIELDS))
EMAIL_KEY = "email:"


class PersonalDocuments:
    def __init__(self, sealer: Sealer, index: BlindIndex) -> None:
        self.sealer = sealer
        self.index = index

    def refresh(self) -> bool:
        """True when a customer was erased since the last look: drop plaintext kept in memory."""
        return self.sealer.vault.refresh()

    def prepare(self, values: Iterable[Mapping[str, Any]]) -> None:
        """Before sealing a batch of values (events' data, histories' `placed`, summaries): the keys of the new
        customers among them, created at once."""
        subjects = [subject for value in values if (subject := _subject(value)) is not None and _holds_personal(value)]
        if subjects:
            self.sealer.prepare(subjects)

    # Received events and histories: the customer and the address, wherever they appear.

    def seal_parts(self, value: Mapping[str, Any]) -> dict[str, Any]:
        sealed = dict(value)
        subject = _subject(value)
        if subject is None:
            return sealed
        for name, fields in PARTS:
            part = value.get(name)
            if isinstance(part, Mapping):
                sealed[name] = self.sealer.seal(part, subject, fields, name)
        return sealed

    def open_parts(self, value: Mapping[str, Any]) -> dict[str, Any]:
        opened = dict(value)
        for name in ("customer", "shipping_address"):
            part = value.get(name)
            if isinstance(part, Mapping):
                opened[name] = self.sealer.open(part, name)
        return opened

    def seal_history(self, history: dict[str, Any]) -> dict[str, Any]:
        placed = history.get("placed")
        return history if not placed else {**history, "placed": self.seal_parts(placed)}

    def open_history(self, history: dict[str, Any]) -> dict[str, Any]:
        placed = history.get("placed")
        return history if not placed else {**history, "placed": self.open_parts(placed)}

    # Summaries.

    def seal_summary(self, summary: dict[str, Any]) -> dict[str, Any]:
        subject = summary.get("customer_id")
        return summary if not subject else self.sealer.seal(summary, str(subject), SUMMARY_FIELDS, "summary")

    def open_summary(self, summary: dict[str, Any]) -> dict[str, Any]:
        return self.sealer.open(summary, "summary")

    # Lookups.

    def lookup_id(self, key: str) -> str | None:
        """The stored `_id` of a lookup key; None for an erased email (it leads nowhere)."""
        if not key.startswith(EMAIL_KEY):
            return key
        email = key[len(EMAIL_KEY) :]
        return None if email == ERASED.lower() or email == ERASED else EMAIL_KEY + self.index.of(email)


def _subject(value: Mapping[str, Any]) -> str | None:
    customer = value.get("customer")
    subject = customer.get("id") if isinstance(customer, Mapping) else value.get("customer_id")
    return str(subject) if subject else None


@dataclass
class OpenedVault:
    """The projections' personal documents and the (synchronous) client their key vault uses."""

    documents: PersonalDocuments
    datastore: MongoDatastore

    def close(self) -> None:
        self.datastore.close()


def personal_documents(settings: CustomerServiceSettings, database: str) -> OpenedVault:
    """The vault lives in the service's own database; its client is synchronous (calls run off the loop)."""
    datastore = MongoDatastore(
        MongoSettings(
            url=settings.mongodb_url,
            database=database,
            write_concern=settings.mongodb_write_concern,
            server_selection_timeout_ms=int(settings.startup_timeout_s * 1000),
        )
    )
    # Plaintext with UNSAFE_DISABLE_PERSONAL_DATA_SEALING (dev only); the lookups stay keyed hashes either way.
    sealer = sealer_for(KeyVault(datastore.database[KEYS_COLLECTION]), settings)
    return OpenedVault(PersonalDocuments(sealer, BlindIndex(settings.personal_data_lookup_key)), datastore)


def _holds_personal(value: Mapping[str, Any]) -> bool:
    """Whether sealing `value` (an event's data, a history's `placed`, a summary) would seal anything."""
    parts = [(value.get(name), fields) for name, fields in PARTS] + [(value, SUMMARY_FIELDS)]
    return any(isinstance(part, Mapping) and personal_fields(part, fields) for part, fields in parts)
