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
    # One log: allocation needs every request and receipt of a sku in one order, across warehouses and the
    # order's other skus, so one member of the group owns it all (the others stand by).
    logs = runtime.event_logs(
        lambda env: InventoryApplication(
            env=env,
            low_stock_threshold=settings.low_stock_threshold,
            low_stock_thresholds=settings.low_stock_thresholds,
        ),
        subscriptions,
        to_outbound,
        logs=1,
    )
    return create_http_app(
        runtime,
        [inventory_router(logs.reader())],
        title="inventory service",
        description="Stock per SKU and warehouse: receipts, reservations, backorders, returns.",
    )
