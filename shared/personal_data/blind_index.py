"""A keyed hash of a lookup value (an email): findable by whoever holds the key, meaningless to anyone else.

A plain hash of an email can be reversed by hashing guesses; an HMAC under a configured secret cannot without
the secret. The secret is one per deployment (not per customer: a search by email does not know the customer).
"""

from __future__ import annotations

import hashlib
import hmac


class BlindIndex:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a blind index needs a secret")
        self._secret = secret.encode()

    def of(self, value: str) -> str:
        normalised = value.strip().lower().encode()
        return hmac.new(self._secret, normalised, hashlib.sha256).hexdigest()[:40]
