"""Sealing the personal fields of a value (a customer, an address, a summary) under the customer's data key.

`{"id": "C-881", "email": "ana@example.com", "name": "Ana Silva"}` sealed for subject C-881 becomes
`{"id": "C-881", "sealed": {"k": "key:C-881#0", "f": ["email", "name"], "c": "<base64 nonce + ciphertext>"}}`:
one AES-GCM message per value (12-byte random nonce, 128-bit tag), bound by its associated data to the key id
and to what the value is (`context`, e.g. "shipping_address"), so a sealed value cannot be moved elsewhere
unnoticed. Opening restores the fields; when the key is destroyed they read `ERASED`. Fields that are None or
already `ERASED` stay as they are (nothing personal in them), and a value without `sealed` opens as itself.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.personal_data.vault import KeyVault

SEALED = "sealed"
ERASED = "[erased]"
NONCE_BYTES = 12


class Sealer:
    def __init__(self, vault: KeyVault) -> None:
        self.vault = vault

    def seal(self, value: Mapping[str, Any], subject: str, fields: Iterable[str], context: str) -> dict[str, Any]:
        personal = {f: value[f] for f in fields if value.get(f) is not None and value[f] != ERASED}
        if not personal or SEALED in value:
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


def _associated(kid: str, context: str) -> bytes:
    return f"{kid}|{context}".encode()


def is_sealed(value: object) -> bool:
    return isinstance(value, Mapping) and SEALED in value
