"""The console's settings, from the environment (the same service URL variables as the CLI)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from cli.tokens import DEV_PROFILE

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
