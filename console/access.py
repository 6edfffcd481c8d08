"""What the console shows a role: the scopes each role grants (a copy of shared/http/scopes.py's table, which
console/ may not import; tests/unit/test_console_access.py checks the two still match) and the pages and actions
that need them. The services still decide: an action sent by hand without the scope gets their 403."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import jwt

from cli.tokens import ROLES

_READ_ONLY = frozenset(
    {
        "orders:read",
        "customers:read",
        "cases:read",
        "shipments:read",
        "queues:read",
        "stock:read",
        "kpis:read",
        "reports:read",
        "projections:read",
    }
)
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "support_agent": frozenset(
        {"orders:read", "customers:read", "cases:read", "cases:write", "cancellations:request", "returns:request"}
    )
    | {"personal_data:read"},
    "logistics": frozenset({"shipments:read", "queues:read", "warehouse:write", "stock:read", "personal_data:read"}),
    "manager": _READ_ONLY,
    "admin": _READ_ONLY
    | {"cases:write", "cancellations:request", "returns:request", "warehouse:write", "projections:rebuild"}
    | {"personal_data:read", "personal_data:erase"},
}

# What each page and action of the console needs.
NEEDS = {
    "orders": "orders:read",
    "cancel": "cancellations:request",
    "cases": "cases:read",
    "customers": "customers:read",
    "logistics": "queues:read",
    "scan": "warehouse:write",
    "manager": "kpis:read",
}
ROLE_TITLES = {
    "support_agent": "Support agent",
    "logistics": "Logistics",
    "manager": "Manager",
    "admin": "Administrator",
}
assert set(ROLE_TITLES) == set(ROLES)


@dataclass(frozen=True)
class User:
    """The signed-in person as the token says (read, not verified: the services verify every call)."""

    token: str
    subject: str
    roles: tuple[str, ...]

    @property
    def scopes(self) -> frozenset[str]:
        return scopes_of(self.roles)

    def may(self, what: str) -> bool:
        return NEEDS[what] in self.scopes

    @property
    def title(self) -> str:
        return ", ".join(ROLE_TITLES.get(role, role) for role in self.roles) or "no role"

    @property
    def home(self) -> str:
        """The page a role starts on."""
        if "manager" in self.roles:
            return "/manager"
        for page in ("orders", "logistics", "manager"):
            if self.may(page):
                return f"/{page}"
        return "/orders"


def scopes_of(roles: Iterable[str]) -> frozenset[str]:
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_SCOPES.get(role, frozenset())
    return frozenset(granted)


def user_of(token: str) -> User | None:
    """The user a token names, or None for something that is not a JWT at all."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False, "verify_aud": False})
    except jwt.PyJWTError:
        return None
    roles = claims.get("roles") or []
    if not isinstance(roles, list):
        roles = []
    return User(token, str(claims.get("sub") or "?"), tuple(str(role) for role in roles))
