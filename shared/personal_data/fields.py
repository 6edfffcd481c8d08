"""Which fields of the contracts' customer and address are personal, and how they show to whom.

The country stays readable everywhere: not identifying on its own, and what carriers route and reports group by.
A reader without the `personal_data:read` scope (a manager) sees the personal fields as `[redacted]`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.http.scopes import PERSONAL_DATA_READ

CUSTOMER_FIELDS = ("email", "name")
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postal_code")
REDACTED = "[redacted]"


def redacted(value: Mapping[str, Any] | None, fields: Iterable[str]) -> dict[str, Any] | None:
    """A copy of `value` with each of `fields` that holds something shown as REDACTED."""
    if value is None:
        return None
    hidden = set(fields)
    return {k: (REDACTED if k in hidden and v is not None else v) for k, v in value.items()}


def sees_personal_data(scopes: Iterable[str]) -> bool:
    return PERSONAL_DATA_READ in scopes
