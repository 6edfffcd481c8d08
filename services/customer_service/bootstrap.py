"""The one place that wires the customer_service service: settings in, a runnable HTTP + Kafka app out."""

from __future__ import annotations

from fastapi import FastAPI

from services.customer_service.adapters.outbound import to_outbound
from services.customer_service.application import SupportApplication
from services.customer_service.config import CustomerServiceSettings
from services.customer_service.entrypoints.http import customer_service_router
from services.customer_service.entrypoints.support import support_router
from services.customer_service.policies import subscriptions
from services.customer_service.projections.rebuild import Rebuilder, RebuildRunner
from services.customer_service.projections.store import ProjectionStore
from shared.runtime import ServiceRuntime, create_http_app

SERVICE_NAME = "customer_service"


def create_customer_service_app(settings: CustomerServiceSettings) -> FastAPI:
    runtime = ServiceRuntime.create(SERVICE_NAME, settings)
    app = SupportApplication(env=runtime.event_store_env())
    store = ProjectionStore(runtime.mongo[runtime.database])
    rebuilds = RebuildRunner(Rebuilder(store))
    runtime.attach_event_log(app, subscriptions(store), to_outbound)
    runtime.on_stop.append(rebuilds.stop)
    return create_http_app(
        runtime,
        [customer_service_router(store, rebuilds, runtime.order_traces), support_router(app, store)],
        title="customer service service",
        description="Order history across all services, support cases and agent actions.",
    )
