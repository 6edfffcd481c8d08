"""The one place that wires the shipping service: settings in, a runnable HTTP + Kafka app out."""

from __future__ import annotations

from fastapi import FastAPI

from services.shipping.adapters.outbound import to_outbound
from services.shipping.application import ShippingApplication
from services.shipping.config import ShippingSettings
from services.shipping.entrypoints.http import shipping_router
from services.shipping.policies import subscriptions
from shared.runtime import ServiceRuntime, create_http_app

SERVICE_NAME = "shipping"


def create_shipping_app(settings: ShippingSettings) -> FastAPI:
    runtime = ServiceRuntime.create(SERVICE_NAME, settings)
    app = ShippingApplication(env=runtime.event_store_env())
    runtime.attach_event_log(app, subscriptions(app), to_outbound)
    return create_http_app(
        runtime,
        [shipping_router(app)],
        title="shipping service",
        description="Shipments from pick to delivery, with carrier tracking.",
    )
