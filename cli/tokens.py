"""Bearer tokens for people's tools: minted here in the dev profile, or taken from `FULFILLMENT_TOKEN`.

The one helper every HTTP caller of the project uses (the CLI, the demo, the tests, the benchmarks). It reads the
same variables as the services (`AUTH_PROFILE`, `AUTH_SECRET`, `AUTH_ISSUER`, `AUTH_AUDIENCE`) with the same dev
defaults; cli/ may not import shared/ (people's tools talk to services over HTTP only), so the defaults are repeated
here and tests/unit/test_tokens.py checks they still match shared/http/tokens.py.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable, Mapping

import jwt

DEV_PROFILE = "dev"
DEV_SECRET = "fulfillment-dev-only-secret-do-not-use-in-production"
DEV_ISSUER = "fulfillment-dev"
DEFAULT_AUDIENCE = "fulfillment"
ROLES = ("support_agent", "logistics", "manager", "admin")
TOKEN_VARIABLE = "FULFILLMENT_TOKEN"


class TokenRefused(Exception):
    """No token can be minted here (not the dev profile and no secret given); the message says what to do."""


def mint(
    *,
    subject: str,
    role: str | None = None,
    scopes: Iterable[str] = (),
    ttl_s: int = 3600,
    secret: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """An HS256 token for `subject` with `role` (a person) and/or explicit `scopes` (a machine client).

    Signed with `secret`, else AUTH_SECRET, else — only in the dev profile — the built-in dev secret.
    """
    env = os.environ if env is None else env
    profile = env.get("AUTH_PROFILE") or DEV_PROFILE
    key = secret or env.get("AUTH_SECRET")
    if key is None:
        if profile != DEV_PROFILE:
            raise TokenRefused(
                f"AUTH_PROFILE={profile}: tokens are minted here only in the dev profile; "
                "pass --secret (or set AUTH_SECRET), or get a token from the identity provider"
            )
        key = DEV_SECRET
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": subject,
        "iss": env.get("AUTH_ISSUER") or DEV_ISSUER,
        "aud": env.get("AUTH_AUDIENCE") or DEFAULT_AUDIENCE,
        "iat": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    if role is not None:
        claims["roles"] = [role]
    scope = " ".join(scopes)
    if scope:
        claims["scope"] = scope
    return jwt.encode(claims, key, algorithm="HS256")


def dev_token(role: str, subject: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """A token for `role` (subject `dev-<role>` unless named), as the project's own callers use."""
    return mint(subject=subject or f"dev-{role}", role=role, env=env)


def bearer(role: str, subject: str | None = None) -> dict[str, str]:
    """The `Authorization` header of a dev token for `role`."""
    return {"Authorization": f"Bearer {dev_token(role, subject)}"}


def token_for(role: str, env: Mapping[str, str] | None = None) -> str:
    """What the CLI sends: `FULFILLMENT_TOKEN` when set, else a dev token for the role the command needs."""
    env = os.environ if env is None else env
    given = env.get(TOKEN_VARIABLE)
    if given:
        return given
    return dev_token(role, env.get("FULFILLMENT_SUBJECT") or None, env=env)
