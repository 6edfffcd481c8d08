"""Message payloads as the storefront, the warehouse and carriers send them (CONTRACT.md)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"


def order_placed(
    order_id: str,
    lines: list[tuple[str, int, str]] | None = None,
    *,
    customer_id: str = "C-881",
    email: str = "ana@example.com",
    promised_delivery_by: date | None = None,
    payment_status: str = "captured",
    method: str = "standard",
) -> dict[str, Any]:
    lines = lines or [("TSHIRT-RED-M", 2, "19.90")]
    amount = sum(Decimal(price) * quantity for _, quantity, price in lines)
    return {
        "order_id": order_id,
        "customer": {"id": customer_id, "email": email, "name": "Ana Silva"},
        "shipping_address": {
            "name": "Ana Silva",
            "line1": "Rua Augusta 12",
            "line2": None,
            "city": "Lisboa",
            "postal_code": "1100-053",
            "country": "PT",
        },
        "lines": [{"sku": sku, "quantity": quantity, "unit_price": price} for sku, quantity, price in lines],
        "currency": "EUR",
        "shipping_method": method,
        "promised_delivery_by": (promised_delivery_by or date.today() + timedelta(days=4)).isoformat(),
        "payment": {"reference": f"pi_{order_id}", "amount": str(amount), "status": payment_status},
    }
