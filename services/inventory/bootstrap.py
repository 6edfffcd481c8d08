"""The one place that wires the inventory service: settings in, a runnable HTTP + Kafka app out."""

from __future__ import annotations

from fastapi import FastAPI

from services.inventory.config import InventorySettings
from services.inventory.entrypoints.http import inventory_router
from shared.runtime import ServiceRuntime, create_http_app

SERVICE_NAME = "inventory"


def create_inventory_app(settings: InventorySettings) -> FastAPI:
    runtime = ServiceRuntime.create(SERVICE_NAME, settings)
    return create_http_app(
        runtime,
        [inventory_router()],
        title="inventory service",
        description="Stock per SKU and warehouse: receipts, reservations, backorders.",
    )
