"""A service's key vault: one data key per customer, created on first sight, destroyed on erasure.

Documents (collection `personal_data_keys` in the service's own database; every read a point lookup on `_id`):
- `key:<customer>#<n>` — generation `n` of the customer's key: `{key: <32 random bytes>, created_at}`; once
  destroyed the `key` field is gone and `destroyed_at`, `erasure_id` say when and by which erasure. Generation 0
  is the first key; an erasure destroys every generation, and the customer's next order gets generation n + 1.
- `erasure:<erasure id>` — an erasure already carried out here: a redelivered erasure changes nothing (it would
  otherwise destroy the key of an order placed since).
- `@erasures` — a token that changes with every erasure, so that every process (every replica, every log) learns
  that cached keys and cached plaintext (aggregates in memory) may be stale.

Writes are effectively once without transactions: a key is created by an insert of its fixed `_id` (a second
creator gets a duplicate-key error and uses the winner's key), and destroying is an idempotent `$unset`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import Binary
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError

KEYS_COLLECTION = "personal_data_keys"
EPOCH_ID = "@erasures"
KEY_BYTES = 32
# Keys kept in memory per process (a returning customer's key without a round trip).
CACHE_SIZE = 100_000
# How stale a process's view of erasures may be for reads (HTTP); writers also catch a race (`ErasureRaced`).
EPOCH_TTL_S = 1.0


class ErasureRaced(OSError):
    """A customer was erased while this process held their data in memory: the batch must be run again from the
    store (so that it sees the erased values). An OSError, so that the consumer runtime retries it."""


@dataclass(frozen=True)
class DataKey:
    kid: str
    secret: bytes


def key_id(subject: str, generation: int) -> str:
    return f"key:{subject}#{generation}"


class KeyVault:
    def __init__(self, collection: Collection[dict[str, Any]], cache_size: int = CACHE_SIZE) -> None:
        self.keys = collection
        self.cache_size = cache_size
        self._current: OrderedDict[str, DataKey] = OrderedDict()
        # kid → secret, or None for a destroyed key.
        self._secrets: OrderedDict[str, bytes | None] = OrderedDict()
        self._epoch: str | None = None
        self._epoch_read_at: float | None = None
        # The writer's thread and HTTP reads (worker threads) share a vault.
        self._lock = threading.RLock()

    # Erasures seen elsewhere.

    def refresh(self, *, force: bool = False) -> bool:
        """Read the erasure token (at most every EPOCH_TTL_S unless forced); True when an erasure happened since
        the last read: every cached key is dropped, and the caller must drop the plaintext it holds."""
        now = time.monotonic()
        if not force and self._epoch_read_at is not None and now - self._epoch_read_at < EPOCH_TTL_S:
            return False
        token = self._read_epoch()
        with self._lock:
            # Never looked before: whatever was cached may predate an erasure.
            first = self._epoch_read_at is None and bool(self._current or self._secrets)
            changed = first or (self._epoch_read_at is not None and token != self._epoch)
            self._epoch, self._epoch_read_at = token, now
            if changed:
                self._current.clear()
                self._secrets.clear()
        return changed

    def _read_epoch(self) -> str | None:
        found = self.keys.find_one({"_id": EPOCH_ID})
        return None if found is None else str(found["token"])

    # Sealing and opening.

    def current(self, subject: str, *, first_exists: bool = False) -> DataKey:
        """The customer's live key; a new one on first sight (or the first sight after an erasure). `first_exists`:
        generation 0 is known to be stored, so it is read rather than tried."""
        with self._lock:
            cached = self._current.get(subject)
            if cached is not None:
                self._current.move_to_end(subject)
                return cached
        generation = 0
        while True:
            kid = key_id(subject, generation)
            # Generation 0 is tried by inserting it: a new customer (most orders) costs one round trip.
            found = self.keys.find_one({"_id": kid}) if generation > 0 or first_exists else None
            if found is None:
                if generation > 0:
                    self._check_no_erasure_since_refresh()
                key = self._create(kid, subject)
                if key is not None:
                    self._remember(subject, key)
                    return key
                found = self.keys.find_one({"_id": kid})  # someone created it first (or long ago): theirs
                if found is None:
                    continue
            if "key" in found:
                key = DataKey(kid, bytes(found["key"]))
                self._remember(subject, key)
                return key
            generation += 1

    def prepare(self, subjects: Iterable[str]) -> None:
        """Create the first keys of the customers not known here in one insert, before a batch is sealed: a batch of
        new customers cost one round trip each, one after another (a live fold of new customers spent a quarter of
        its time there). A customer whose first key exists already (seen before this process started, created by
        another writer, or erased) is read."""
        with self._lock:
            unknown = sorted({subject for subject in subjects if subject not in self._current})
        if not unknown:
            return
        now = datetime.now(UTC)
        keys = [DataKey(key_id(subject, 0), os.urandom(KEY_BYTES)) for subject in unknown]
        documents = [_key_document(key, subject, now) for subject, key in zip(unknown, keys, strict=True)]
        try:
            self.keys.insert_many(documents, ordered=False)
            refused: set[int] = set()
        except BulkWriteError as error:
            refused = _duplicates(error, documents)
        for index, (subject, key) in enumerate(zip(unknown, keys, strict=True)):
            if index in refused:
                self.current(subject, first_exists=True)
            else:
                self._remember(subject, key)

    def _create(self, kid: str, subject: str) -> DataKey | None:
        key = DataKey(kid, os.urandom(KEY_BYTES))
        try:
            self.keys.insert_one(_key_document(key, subject, datetime.now(UTC)))
        except DuplicateKeyError:
            return None
        return key

    def _check_no_erasure_since_refresh(self) -> None:
        """A destroyed generation means the customer was erased. If that happened after this process last looked,
        what it is about to seal may be plaintext it held from before the erasure: never seal that under a new
        key."""
        token = self._read_epoch()
        if self._epoch_read_at is None or token != self._epoch:
            self.refresh(force=True)
            raise ErasureRaced("a customer was erased while their data was in memory; running the batch again")

    def secret(self, kid: str) -> bytes | None:
        """The key's bytes, or None once it is destroyed (or never existed)."""
        with self._lock:
            if kid in self._secrets:
                self._secrets.move_to_end(kid)
                return self._secrets[kid]
        found = self.keys.find_one({"_id": kid})
        secret = bytes(found["key"]) if found is not None and "key" in found else None
        with self._lock:
            self._secrets[kid] = secret
            self._trim(self._secrets)
        return secret

    def _remember(self, subject: str, key: DataKey) -> None:
        with self._lock:
            self._current[subject] = key
            self._secrets[key.kid] = key.secret
            self._trim(self._current)
            self._trim(self._secrets)

    def _trim(self, cache: OrderedDict[str, Any]) -> None:
        while len(cache) > self.cache_size:
            cache.popitem(last=False)

    # Erasure.

    def erase(self, subject: str, erasure_id: str) -> int:
        """Destroy every key of the customer (once per erasure id); returns how many were destroyed now."""
        if self.keys.find_one({"_id": f"erasure:{erasure_id}"}) is not None:
            return 0
        # The token first: a writer that meets a destroyed key must find the token changed (see ErasureRaced).
        self._bump_epoch()
        destroyed = 0
        generation = 0
        now = datetime.now(UTC)
        while (found := self.keys.find_one({"_id": key_id(subject, generation)})) is not None:
            if "key" in found:
                self.keys.update_one(
                    {"_id": found["_id"]},
                    {"$unset": {"key": ""}, "$set": {"destroyed_at": now, "erasure_id": erasure_id}},
                )
                destroyed += 1
            generation += 1
        with contextlib.suppress(DuplicateKeyError):  # another owner (a rebalance) finished the same erasure
            self.keys.insert_one({"_id": f"erasure:{erasure_id}", "subject": subject, "at": now})
        with self._lock:
            self._current.clear()
            self._secrets.clear()
        return destroyed

    def _bump_epoch(self) -> None:
        token = uuid.uuid4().hex
        try:
            self.keys.update_one({"_id": EPOCH_ID}, {"$set": {"token": token}}, upsert=True)
        except DuplicateKeyError:  # two first erasures upserting at once (FerretDB): the document exists now
            self.keys.update_one({"_id": EPOCH_ID}, {"$set": {"token": token}})


def _key_document(key: DataKey, subject: str, now: datetime) -> dict[str, Any]:
    return {"_id": key.kid, "subject": subject, "key": Binary(key.secret), "created_at": now}


def _duplicates(error: BulkWriteError, documents: list[dict[str, Any]]) -> set[int]:
    """The positions of the documents an unordered insert refused as duplicates. Anything else, or an answer that
    does not account for every document, is raised: a key remembered but not stored would seal data that nobody
    can open again."""
    details = error.details
    errors = details.get("writeErrors", [])
    refused = {int(e["index"]) for e in errors}
    accounted = details.get("nInserted", 0) + len(refused) == len(documents)
    if not accounted or any(e.get("code") != 11000 for e in errors):
        raise error
    if any(documents[int(e["index"])]["_id"] != (e.get("op") or {}).get("_id") for e in errors):
        raise error
    return refused
