"""The one place that wires the customer_service service: settings in, a runnable HTTP + Kafka app out."""

from __future__ import annotations

from fastapi import FastAPI

from services.customer_service.config import CustomerServiceSettings
from services.customer_service.entrypoints.http import customer_service_router
from shared.runtime import ServiceRuntime, create_http_app

SERVICE_NAME = "customer_service"


def create_customer_service_app(settings: CustomerServiceSettings) -> FastAPI:
    runtime = ServiceRuntime.create(SERVICE_NAME, settings)
    return create_http_app(
        runtime,
        [customer_service_router()],
        title="customer service service",
        description="Order history across all services, support cases and agent actions.",
    )
