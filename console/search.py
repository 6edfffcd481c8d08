"""The order search form as customer_service's `GET /orders?…` takes it: each field checked here first, so a
mistake reads as a sentence naming the field rather than a service's refusal."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date
from typing import Any
from urllib.parse import urlencode

from console.terms import ORDER_STATUSES

CODE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
PAGE_SIZE = 25
LABELS = {
    "order_id": "Order id",
    "email": "E-mail",
    "tracking_number": "Tracking number",
    "sku": "Sku",
    "status": "Status",
    "placed_from": "Placed from",
    "placed_to": "Placed to",
}


@dataclass(frozen=True)
class OrderQuery:
    """What the agent typed, trimmed; empty fields are not asked for."""

    order_id: str = ""
    email: str = ""
    tracking_number: str = ""
    sku: str = ""
    status: str = ""
    placed_from: str = ""
    placed_to: str = ""
    page: int = 1

    @classmethod
    def of(cls, raw: dict[str, str], page: int = 1) -> OrderQuery:
        return cls(**{f.name: raw.get(f.name, "").strip() for f in fields(cls) if f.name != "page"}, page=page)

    @property
    def asked(self) -> bool:
        return any(getattr(self, name) for name in LABELS)

    def problems(self) -> list[str]:
        found = []
        for name in ("order_id", "sku", "tracking_number"):
            value = getattr(self, name)
            if value and not CODE.match(value):
                found.append(f"{LABELS[name]}: 1 to 64 letters, digits or . _ - (got “{value}”).")
        if self.email and (len(self.email) < 3 or "@" not in self.email):
            found.append(f"E-mail: “{self.email}” is not an e-mail address.")
        if self.status and self.status not in ORDER_STATUSES:
            found.append(f"Status: “{self.status}” is not an order status.")
        days = {}
        for name in ("placed_from", "placed_to"):
            value = getattr(self, name)
            if value:
                try:
                    days[name] = date.fromisoformat(value)
                except ValueError:
                    found.append(f"{LABELS[name]}: “{value}” is not a day (YYYY-MM-DD).")
        if len(days) == 2 and days["placed_from"] > days["placed_to"]:
            found.append("Placed from: must not be after “Placed to”.")
        return found

    def params(self) -> dict[str, Any]:
        """The service's query: days become the first and last moment of those UTC days."""
        params: dict[str, Any] = {
            name: getattr(self, name) for name in ("order_id", "email", "tracking_number", "sku", "status")
        }
        if self.placed_from:
            params["placed_from"] = f"{self.placed_from}T00:00:00Z"
        if self.placed_to:
            params["placed_to"] = f"{self.placed_to}T23:59:59.999999Z"
        return params | {"page": self.page, "page_size": PAGE_SIZE}

    def link(self, page: int) -> str:
        """This search's URL at another page (for the previous / next links)."""
        shown = {name: getattr(self, name) for name in LABELS if getattr(self, name)}
        return "/orders?" + urlencode(shown | {"page": page})
