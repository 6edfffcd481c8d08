"""Bearer tokens: JWTs checked for signature, issuer, audience and expiry, turned into a `Principal`.

Two ways to trust a signer, chosen by settings: a shared secret (HS256, `AUTH_SECRET`) or a key set (RS256/ES256,
`AUTH_JWKS`: a JWKS file or an https URL, e.g. the identity provider's `/.well-known/jwks.json`). The dev profile
ships a built-in secret so that a laptop works out of the box; any other profile refuses to start with it
(`auth_settings_problem`), since everyone who has read this file could mint tokens with it. The same goes for
UNSAFE_DISABLE_HTTP_AUTH (no token checked at all), there to measure what access control costs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jwt

from shared.http.scopes import scopes_of

DEV_PROFILE = "dev"
# Known to everyone who can read this repository: good for a laptop, refused in any other profile.
DEV_SECRET = "fulfillment-dev-only-secret-do-not-use-in-production"
DEV_ISSUER = "fulfillment-dev"
DEFAULT_AUDIENCE = "fulfillment"
# HS256 with a short secret can be brute-forced offline from a single token.
MIN_SECRET_BYTES = 32
KEY_SET_ALGORITHMS = ("RS256", "ES256")
# What ends up on events and timelines as the actor (the contract's agent id: shared/contracts/customer_service.py).
SUBJECT = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
# The actor of every request served with UNSAFE_DISABLE_HTTP_AUTH: what events and timelines then record, so that
# such an action is never mistaken for a person's. Not `dev:…`: the contracts' agent ids allow no colon. No token
# may claim it (`principal_of`), so the subject on an event always says whether a token was checked.
UNAUTHENTICATED_SUBJECT = "dev.unauthenticated"


class InvalidToken(Exception):
    """The token cannot be trusted; the message says why (safe to show the caller: it names no secret)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject (a person or a machine client) and what it may do."""

    subject: str
    scopes: frozenset[str]
    roles: tuple[str, ...] = ()

    @property
    def is_machine_client(self) -> bool:
        return not self.roles


class AuthSettings(Protocol):
    """The settings this module reads (shared/settings.py has them on every service)."""

    auth_profile: str
    auth_secret: str
    auth_issuer: str
    auth_audience: str
    auth_jwks: str | None
    auth_leeway_s: float
    unsafe_disable_http_auth: bool


def dev_only_problem(setting: str, profile: str, danger: str) -> str | None:
    """The refusal of a setting only the dev profile accepts, in the words of the dev secret's; None in dev."""
    if profile == DEV_PROFILE:
        return None
    return f"{setting}: refused with AUTH_PROFILE={profile} (only {DEV_PROFILE!r} accepts it): {danger}"


def auth_settings_problem(settings: AuthSettings) -> str | None:
    """Why these settings must not serve requests, naming the setting to fix; None when they may."""
    if settings.unsafe_disable_http_auth:
        problem = dev_only_problem(
            "UNSAFE_DISABLE_HTTP_AUTH", settings.auth_profile, "every caller would be served as an admin; unset it"
        )
        if problem:
            return problem
    if settings.auth_jwks:
        problem = _key_set_problem(settings.auth_jwks)
        if problem:
            return problem
    if settings.auth_profile == DEV_PROFILE:
        return None
    if settings.auth_secret == DEV_SECRET and not settings.auth_jwks:
        return (
            f"AUTH_SECRET: the built-in dev secret is refused with AUTH_PROFILE={settings.auth_profile} "
            f"(only {DEV_PROFILE!r} accepts it); set AUTH_SECRET to a secret of at least {MIN_SECRET_BYTES} bytes, "
            "or AUTH_JWKS to the identity provider's key set"
        )
    if settings.auth_secret != DEV_SECRET and len(settings.auth_secret.encode()) < MIN_SECRET_BYTES:
        return f"AUTH_SECRET: needs at least {MIN_SECRET_BYTES} bytes with AUTH_PROFILE={settings.auth_profile}"
    if settings.auth_issuer == DEV_ISSUER:
        return f"AUTH_ISSUER: {DEV_ISSUER!r} is the dev issuer; set the issuer of your identity provider"
    return None


def _key_set_problem(source: str) -> str | None:
    if source.startswith("http://"):
        return "AUTH_JWKS: an http URL can be tampered with on the way; use https or a file"
    if source.startswith("https://"):
        return None
    try:
        FileKeySet(Path(source))
    except (OSError, ValueError, jwt.PyJWTError) as error:
        return f"AUTH_JWKS: cannot read a key set from {source}: {error}"
    return None


class KeySet(Protocol):
    def key_for(self, token: str) -> Any: ...


class FileKeySet:
    """A JWKS read once from a file (mounted from a Secret or ConfigMap)."""

    def __init__(self, path: Path) -> None:
        self.keys = jwt.PyJWKSet.from_dict(json.loads(path.read_text()))

    def key_for(self, token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        if kid is None and len(self.keys.keys) == 1:
            return self.keys.keys[0].key
        for key in self.keys.keys:
            if kid is not None and key.key_id == kid:
                return key.key
        raise InvalidToken(f"kid: no key {kid!r} in the key set")


class UrlKeySet:
    """The identity provider's JWKS over https, cached (PyJWT refetches on an unknown kid: key rotation)."""

    def __init__(self, url: str) -> None:
        self.client = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)

    def key_for(self, token: str) -> Any:
        try:
            return self.client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientError as error:
            raise InvalidToken(f"kid: {error}") from None


class TokenVerifier:
    def __init__(
        self,
        *,
        secret: str | None,
        issuer: str,
        audience: str,
        key_set: KeySet | None = None,
        leeway_s: float = 30.0,
    ) -> None:
        self.secret = secret
        self.issuer = issuer
        self.audience = audience
        self.key_set = key_set
        self.leeway_s = leeway_s

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> TokenVerifier:
        key_set: KeySet | None = None
        source = settings.auth_jwks
        # A key set that cannot be used is reported by auth_settings_problem, when the service starts.
        if source and _key_set_problem(source) is None:
            key_set = UrlKeySet(source) if source.startswith("https://") else FileKeySet(Path(source))
        # With a key set outside dev, the built-in secret is not a second way in.
        secret_usable = settings.auth_profile == DEV_PROFILE or settings.auth_secret != DEV_SECRET
        return cls(
            secret=settings.auth_secret if secret_usable else None,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            key_set=key_set,
            leeway_s=settings.auth_leeway_s,
        )

    @property
    def fetches_keys(self) -> bool:
        """Verifying may wait on the network (the caller runs it off the event loop)."""
        return isinstance(self.key_set, UrlKeySet)

    def verify(self, token: str) -> Principal:
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.DecodeError:
            raise InvalidToken("not a JWT") from None
        key, algorithms = self._key(token, algorithm)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("exp: the token has expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken(f"aud: the token is not for {self.audience!r}") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken(f"iss: the token was not issued by {self.issuer!r}") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("signature: does not verify") from None
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f"{error.claim}: required claim missing") from None
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None
        return principal_of(claims)

    def _key(self, token: str, algorithm: Any) -> tuple[Any, list[str]]:
        # The algorithm picks the key, and each key is used with its own algorithms only: a token cannot make an
        # RSA public key serve as an HMAC secret.
        if algorithm == "HS256" and self.secret is not None:
            return self.secret, ["HS256"]
        if algorithm in KEY_SET_ALGORITHMS and self.key_set is not None:
            return self.key_set.key_for(token), list(KEY_SET_ALGORITHMS)
        raise InvalidToken(f"alg: {algorithm!r} is not accepted here")


def principal_of(claims: Mapping[str, Any]) -> Principal:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not SUBJECT.match(subject):
        raise InvalidToken("sub: must be 1-64 characters of letters, digits, '.', '_', '@' or '-'")
    if subject == UNAUTHENTICATED_SUBJECT:
        raise InvalidToken(f"sub: {UNAUTHENTICATED_SUBJECT!r} is reserved for requests no token was checked for")
    roles = claims.get("roles", [])
    if isinstance(roles, str):
        roles = roles.split()
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise InvalidToken("roles: must be a list of role names")
    scope = claims.get("scope", "")
    if not isinstance(scope, str):
        raise InvalidToken("scope: must be a space-separated string")
    return Principal(subject=subject, scopes=scopes_of(roles, scope.split()), roles=tuple(roles))
