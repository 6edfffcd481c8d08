"""The one place that wires the inventory service: settings in, a runnable HTTP + Kafka app out."""

from __future__ import annotations

from fastapi import FastAPI

from services.inventory.adapters.outbound import to_outbound
from services.inventory.application import InventoryApplication
from services.inventory.config import InventorySettings
from services.inventory.entrypoints.http import inventory_router
from services.inventory.policies import subscriptions
from shared.runtime import ServiceRuntime, create_http_app

SERVICE_NAME = "inventory"


def create_inventory_app(settings: InventorySettings) -> FastAPI:
    runtime = ServiceRuntime.create(SERVICE_NAME, settings)
    app = InventoryApplication(
        env=runtime.event_store_env(),
        low_stock_threshold=settings.low_stock_threshold,
        low_stock_thresholds=settings.low_stock_thresholds,
    )
    runtime.attach_event_log(app, subscriptions(app), to_outbound)
    return create_http_app(
        runtime,
        [inventory_router(app)],
        title="inventory service",
        description="Stock per SKU and warehouse: receipts, reservations, backorders, returns.",
    )
