"""The one place that wires the orders service: settings in, a runnable HTTP + Kafka app out."""

from __future__ import annotations

from fastapi import FastAPI

from services.orders.adapters.metrics import OrderStageObserver
from services.orders.adapters.outbound import to_outbound
from services.orders.application import OrdersApplication
from services.orders.config import OrdersSettings
from services.orders.entrypoints.http import orders_router
from services.orders.policies import subscriptions
from shared.personal_data import KEYS_COLLECTION
from shared.runtime import ServiceRuntime, create_http_app

SERVICE_NAME = "orders"


def create_orders_app(settings: OrdersSettings) -> FastAPI:
    runtime = ServiceRuntime.create(SERVICE_NAME, settings)
    runtime.collections.append(KEYS_COLLECTION)  # the customers' data keys (shared/personal_data)
    # Every topic orders reads is keyed by order id: one log per partition, each with its own owner.
    logs = runtime.event_logs(
        lambda env: OrdersApplication(env=env),
        subscriptions,
        to_outbound,
        logs=runtime.partitions,
        observers=[OrderStageObserver(runtime.telemetry.metrics)],
    )
    return create_http_app(
        runtime,
        [orders_router(logs.reader)],
        title="orders service",
        description="Owns each order from receipt to refund, and the fulfillment saga.",
    )
