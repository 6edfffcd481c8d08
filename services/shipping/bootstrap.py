"""The one place that wires the shipping service: settings in, a runnable HTTP + Kafka app out."""

from __future__ import annotations

from fastapi import FastAPI

from services.shipping.adapters.outbound import to_outbound
from services.shipping.application import ShippingApplication
from services.shipping.config import ShippingSettings
from services.shipping.entrypoints.http import shipping_router
from services.shipping.entrypoints.logistics_http import logistics_router
from services.shipping.expiry import WaitingExpiry
from services.shipping.policies import subscriptions
from services.shipping.read_model import ShipmentProjection, ShipmentReadModel
from shared.contracts.topics import WAREHOUSE_EVENTS
from shared.personal_data import KEYS_COLLECTION
from shared.projections import ProjectionRunner
from shared.runtime import ServiceRuntime, create_http_app

SERVICE_NAME = "shipping"


def create_shipping_app(settings: ShippingSettings) -> FastAPI:
    runtime = ServiceRuntime.create(SERVICE_NAME, settings)
    # One log: a shipment is reached by its id (scans) and by its tracking number (carriers), keys that do not
    # share partitions with its order, so one member of the group owns it all (the others stand by).
    logs = runtime.event_logs(lambda env: ShippingApplication(env=env), subscriptions, to_outbound, logs=1)
    app = logs.reader()

    database = runtime.mongo[runtime.database]
    read_model = ShipmentReadModel(
        database["shipment_summaries"], database["open_shipments"], database["waiting_messages"]
    )
    runtime.collections += [
        "shipment_summaries",
        "open_shipments",
        "waiting_messages",
        "projection_positions",
        KEYS_COLLECTION,
    ]
    # The warehouse's queues may lag half a second: a batch at most that often writes a summary once for the
    # several scans of a shipment that come close together.
    projection = ProjectionRunner(
        "shipment_summaries", app, ShipmentProjection(read_model), database["projection_positions"], linger_s=0.5
    )
    # Run by the log's owner only: one writer, which keeps the summaries it wrote in memory.
    logs.workers[0].also.append(projection)
    runtime.on_stop.append(projection.stop)
    expiry = WaitingExpiry(logs, read_model, settings.early_arrival_patience_s, settings.early_arrival_check_s)
    logs.workers[0].also.append(expiry)
    runtime.on_stop.append(expiry.revoked)
    runtime.telemetry.metrics.watch_waiting(lambda: expiry.waiting)
    # Whatever stored it (a Kafka message or an HTTP scan), the read model looks now.
    logs.writer().call_after_store(projection.stored)

    (warehouse_scans,) = (s for s in logs.workers[0].edge.by_topic.values() if s.topic == WAREHOUSE_EVENTS)
    return create_http_app(
        runtime,
        # The logistics routes first: `/shipments/late` must not be taken for a shipment id.
        [logistics_router(logs, read_model, warehouse_scans), shipping_router(app, read_model)],
        title="shipping service",
        description="Shipments from pick to delivery, with carrier tracking, and the logistics work queues.",
    )
