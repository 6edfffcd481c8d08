"""Topic `reporting.events.v1`: what the reporting service publishes (key: sku).

A purchasing system acts on these; they are derived from `inventory.events.v1` and carry a fixed event id per
crossing (the n-th crossing of a sku x warehouse), so a re-sent one is recognised as the same event.
"""

from __future__ import annotations

from datetime import datetime

from shared.contracts.envelope import Contract, Sku, WarehouseCode


class ReorderPointCrossedV1(Contract):
    """Available stock of a sku in a warehouse fell below its reorder point (once per crossing)."""

    sku: Sku
    warehouse: WarehouseCode
    available: int
    reorder_point: float
    suggested_quantity: int
    days_of_supply: float | None
    crossed_at: datetime


REPORTING_TYPES: dict[str, type[Contract]] = {"ReorderPointCrossed": ReorderPointCrossedV1}
