"""Signing in outside the dev profile: OpenID Connect's authorization-code flow with PKCE (RFC 7636) against the
configured provider. The console keeps the provider's access token in its cookie, and the services verify it as
any token (AUTH_ISSUER, AUDIENCE, JWKS): the console decides nothing from it but what to show."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

STATE_COOKIE = "console_oidc"
STATE_TTL_S = 600


class SignInFailed(Exception):
    """The provider's answer cannot sign anyone in; the message says why in words."""


@dataclass(frozen=True)
class OidcClient:
    issuer: str
    client_id: str
    redirect_uri: str
    authorization_endpoint: str
    token_endpoint: str
    scope: str = "openid"
    client_secret: str | None = None
    timeout_s: float = 10.0

    def start(self) -> tuple[str, str]:
        """The provider's authorize URL for a new sign-in, and what the browser keeps until the answer comes back
        (the state, which ties the answer to this browser, and the PKCE verifier, which only this browser knows)."""
        state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": state,
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        separator = "&" if "?" in self.authorization_endpoint else "?"
        return f"{self.authorization_endpoint}{separator}{urlencode(query)}", f"{state}.{verifier}"

    @staticmethod
    def verifier_for(kept: str | None, state: str) -> str:
        """The verifier this browser kept for `state`, or why the answer is not this browser's sign-in."""
        if not kept or "." not in kept:
            raise SignInFailed("This browser did not start that sign-in (or took over 10 minutes); sign in again.")
        kept_state, verifier = kept.split(".", 1)
        if not secrets.compare_digest(kept_state, state):
            raise SignInFailed("The sign-in answer does not match the one this browser started; sign in again.")
        return verifier

    async def exchange(self, code: str, verifier: str) -> dict[str, Any]:
        """The provider's tokens for the code (untested against a real provider: README, "Console")."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": verifier,
        }
        if self.client_secret:
            form["client_secret"] = self.client_secret
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(self.token_endpoint, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as error:
            raise SignInFailed(f"The identity provider did not answer at {self.token_endpoint} ({error}).") from None
        try:
            tokens: dict[str, Any] = response.json()
        except ValueError:
            tokens = {}
        if response.status_code != 200 or not isinstance(tokens.get("access_token"), str):
            why = tokens.get("error_description") or tokens.get("error") or f"HTTP {response.status_code}"
            raise SignInFailed(f"The identity provider refused the code: {why}.")
        return tokens
