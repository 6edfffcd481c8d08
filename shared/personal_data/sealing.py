"""Sealing the personal fields of a value (a customer, an address, a summary) under the customer's data key.

`{"id": "C-881", "email": "ana@example.com", "name": "Ana Silva"}` sealed for subject C-881 becomes
`{"id": "C-881", "sealed": {"k": "key:C-881#0", "f": ["email", "name"], "c": "<base64 nonce + ciphertext>"}}`:
one AES-GCM message per value (12-byte random nonce, 128-bit tag), bound by its associated data to the key id
and to what the value is (`context`, e.g. "shipping_address"), so a sealed value cannot be moved elsewhere
unnoticed. Opening restores the fields; when the key is destroyed they read `ERASED`. Fields that are None or
already `ERASED` stay as they are (nothing personal in them), and a value without `sealed` opens as itself.

`PlaintextSealer` (UNSAFE_DISABLE_PERSONAL_DATA_SEALING, dev profile only) seals nothing, so that the order
benchmark can show what sealing costs: the same stores and reads, minus AES-GCM and the vault's key writes.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.http.tokens import DEV_PROFILE, dev_only_problem
from shared.personal_data.vault import KeyVault

SEALED = "sealed"
ERASED = "[erased]"
NONCE_BYTES = 12


class Sealer:
    def __init__(self, vault: KeyVault) -> None:
        self.vault = vault

    def prepare(self, subjects: Iterable[str]) -> None:
        """Before sealing a batch: the keys of its new customers, created at once (KeyVault.prepare)."""
        self.vault.prepare(subjects)

    def seal(self, value: Mapping[str, Any], subject: str, fields: Iterable[str], context: str) -> dict[str, Any]:
        personal = personal_fields(value, fields)
        if not personal:
            return dict(value)
        key = self.vault.current(subject)
        nonce = os.urandom(NONCE_BYTES)
        plaintext = json.dumps(personal, separators=(",", ":"), ensure_ascii=False).encode()
        ciphertext = AESGCM(key.secret).encrypt(nonce, plaintext, _associated(key.kid, context))
        sealed = {k: v for k, v in value.items() if k not in personal}
        sealed[SEALED] = {"k": key.kid, "f": list(personal), "c": base64.b64encode(nonce + ciphertext).decode()}
        return sealed

    def open(self, value: Mapping[str, Any], context: str) -> dict[str, Any]:
        envelope = value.get(SEALED)
        opened = {k: v for k, v in value.items() if k != SEALED}
        if not isinstance(envelope, Mapping):
            return opened
        kid, fields = str(envelope["k"]), list(envelope["f"])
        secret = self.vault.secret(kid)
        if secret is None:
            opened.update(dict.fromkeys(fields, ERASED))
            return opened
        blob = base64.b64decode(envelope["c"])
        plaintext = AESGCM(secret).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _associated(kid, context))
        opened.update(json.loads(plaintext))
        return opened


class PlaintextSealer(Sealer):
    """Stores values as they are. Opening is the Sealer's: what was sealed before the switch still opens (and its
    erasure still works), and a plain value opens as itself. Lookups are keyed hashes either way (BlindIndex)."""

    def prepare(self, subjects: Iterable[str]) -> None:
        pass  # seals nothing: needs no keys

    def seal(self, value: Mapping[str, Any], subject: str, fields: Iterable[str], context: str) -> dict[str, Any]:
        return dict(value)


class SealingSettings(Protocol):
    auth_profile: str
    unsafe_disable_personal_data_sealing: bool


def sealing_disabled(settings: SealingSettings) -> bool:
    """The switch, obeyed in the dev profile only: where it is refused (at start) it never takes effect either,
    so that a process built without the start-up check (a test's, a script's) still seals."""
    return settings.unsafe_disable_personal_data_sealing and settings.auth_profile == DEV_PROFILE


def sealer_for(vault: KeyVault, settings: SealingSettings) -> Sealer:
    return PlaintextSealer(vault) if sealing_disabled(settings) else Sealer(vault)


def sealing_settings_problem(settings: SealingSettings) -> str | None:
    """Refused outside dev like the dev token secret (shared/http/tokens.py), and checked at start with it."""
    if not settings.unsafe_disable_personal_data_sealing:
        return None
    return dev_only_problem(
        "UNSAFE_DISABLE_PERSONAL_DATA_SEALING",
        settings.auth_profile,
        "names, emails and addresses would be stored in plaintext, beyond the reach of erasure; unset it",
    )


def personal_fields(value: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """What sealing `value` would seal: its personal fields that hold something (none once it is sealed)."""
    if SEALED in value:
        return {}
    return {f: value[f] for f in fields if value.get(f) is not None and value[f] != ERASED}


def _associated(kid: str, context: str) -> bytes:
    return f"{kid}|{context}".encode()


def is_sealed(value: object) -> bool:
    return isinstance(value, Mapping) and SEALED in value
