"""The console's settings, from the environment (the same service URL variables as the CLI)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from cli.tokens import DEV_PROFILE
from console.oidc import OidcClient

DEFAULT_PORT = 8010


class BadSetting(Exception):
    """A setting the console cannot start with; the message names it."""


@dataclass(frozen=True)
class ConsoleSettings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    customer_service_url: str = "http://127.0.0.1:8004"
    shipping_url: str = "http://127.0.0.1:8003"
    reporting_url: str = "http://127.0.0.1:8005"
    auth_profile: str = DEV_PROFILE
    # The cookie holding the token only travels over https outside the dev profile.
    secure_cookie: bool = False
    # How often (seconds) the order page, the queue and the KPI tiles ask again.
    refresh_s: int = 3
    service_timeout_s: float = 10.0
    # Outside the dev profile: the OpenID Connect provider people sign in with.
    oidc: OidcClient | None = None

    @property
    def mints_tokens(self) -> bool:
        """Only in the dev profile does the sign-in page issue tokens itself."""
        return self.auth_profile == DEV_PROFILE

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ConsoleSettings:
        env = os.environ if env is None else env
        profile = env.get("AUTH_PROFILE") or DEV_PROFILE
        return cls(
            host=env.get("HTTP_HOST") or cls.host,
            port=_int(env, "CONSOLE_HTTP_PORT", DEFAULT_PORT),
            customer_service_url=_url(env, "CUSTOMER_SERVICE_URL", cls.customer_service_url),
            shipping_url=_url(env, "SHIPPING_URL", cls.shipping_url),
            reporting_url=_url(env, "REPORTING_URL", cls.reporting_url),
            auth_profile=profile,
            secure_cookie=profile != DEV_PROFILE,
            refresh_s=_int(env, "CONSOLE_REFRESH_S", cls.refresh_s),
            oidc=None if profile == DEV_PROFILE else _oidc(env),
        )


OIDC_REQUIRED = (
    "OIDC_ISSUER",
    "OIDC_CLIENT_ID",
    "OIDC_REDIRECT_URI",
    "OIDC_AUTHORIZATION_ENDPOINT",
    "OIDC_TOKEN_ENDPOINT",
)


def _oidc(env: Mapping[str, str]) -> OidcClient:
    """Outside dev nobody signs in without a provider: a missing setting stops the start, named."""
    missing = [name for name in OIDC_REQUIRED if not env.get(name)]
    if missing:
        raise BadSetting(
            f"{', '.join(missing)} must be set outside the dev profile (the OIDC provider to sign in with)"
        )
    endpoints = {}
    for name in OIDC_REQUIRED:
        # Kept as written (a trailing slash included): the provider compares the redirect URI exactly.
        endpoints[name] = env[name].strip()
        if name != "OIDC_CLIENT_ID" and not endpoints[name].startswith(("http://", "https://")):
            raise BadSetting(f"{name}={endpoints[name]!r} must start with http:// or https://")
    return OidcClient(
        issuer=endpoints["OIDC_ISSUER"],
        client_id=env["OIDC_CLIENT_ID"],
        redirect_uri=endpoints["OIDC_REDIRECT_URI"],
        authorization_endpoint=endpoints["OIDC_AUTHORIZATION_ENDPOINT"],
        token_endpoint=endpoints["OIDC_TOKEN_ENDPOINT"],
        scope=env.get("OIDC_SCOPE") or "openid",
        client_secret=env.get("OIDC_CLIENT_SECRET") or None,
    )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadSetting(f"{name}={raw!r} is not a whole number") from None
    if value < 1:
        raise BadSetting(f"{name}={raw!r} must be at least 1")
    return value


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = (env.get(name) or default).rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise BadSetting(f"{name}={value!r} must start with http:// or https://")
    return value
