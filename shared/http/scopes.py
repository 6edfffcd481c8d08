"""Who may do what over HTTP: the scopes a route can require, and the scopes each role of a person grants.

A person's token names roles (`roles` claim); a machine client's token (client-credentials style: the storefront,
a warehouse system, a reporting job) carries its scopes explicitly (`scope`, space-separated, as OAuth2 has it).
A token's scopes are the union of both. A role this table does not know grants nothing (an identity provider may
hand out roles of other systems).
"""

from __future__ import annotations

from collections.abc import Iterable

# Every scope a route may require, with what it lets the caller do (shown in the OpenAPI documents).
SCOPES: dict[str, str] = {
    "orders:read": "read orders, their returns, order histories and order search",
    "customers:read": "read customers and their orders",
    "cases:read": "read support cases",
    "cases:write": "open support cases, add notes, escalate and resolve them",
    "cancellations:request": "ask the orders service to cancel an order",
    "returns:request": "ask the orders service to take a return",
    "shipments:read": "read shipments, late shipments and exceptions",
    "queues:read": "read a warehouse's queue",
    "warehouse:write": "post warehouse events (picked, packed, dispatched, stock, returns received)",
    "stock:read": "read stock levels and reservations",
    "kpis:read": "read KPIs",
    "reports:read": "read reports",
    "projections:read": "read the progress of a read-model rebuild",
    "projections:rebuild": "rebuild read models (expensive: admin only)",
    "personal_data:read": "see customers' names, emails and addresses (others see them as [redacted])",
    "personal_data:erase": "erase a customer's personal data",
}
PERSONAL_DATA_READ = "personal_data:read"

# What a manager reads: everything but personal data (KPIs and orders need no names, emails or addresses).
READ_ONLY = frozenset(scope for scope in SCOPES if scope.endswith(":read") and scope != PERSONAL_DATA_READ)

ROLE_SCOPES: dict[str, frozenset[str]] = {
    # Agents talk to customers; logistics label parcels: both need names and addresses.
    "support_agent": frozenset(
        {
            "orders:read",
            "customers:read",
            "cases:read",
            "cases:write",
            "cancellations:request",
            "returns:request",
            PERSONAL_DATA_READ,
        }
    ),
    "logistics": frozenset({"shipments:read", "queues:read", "warehouse:write", "stock:read", PERSONAL_DATA_READ}),
    "manager": READ_ONLY,
    "admin": frozenset(SCOPES),
}


def scopes_of(roles: Iterable[str], explicit: Iterable[str] = ()) -> frozenset[str]:
    granted = set(explicit)
    for role in roles:
        granted |= ROLE_SCOPES.get(role, frozenset())
    return frozenset(granted)
