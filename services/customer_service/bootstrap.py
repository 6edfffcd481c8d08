"""The one place that wires the customer_service service: settings in, a runnable HTTP + Kafka app out."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from services.customer_service.adapters.outbound import to_outbound
from services.customer_service.application import SupportApplication
from services.customer_service.config import CustomerServiceSettings
from services.customer_service.entrypoints.http import customer_service_router
from services.customer_service.entrypoints.personal_data import personal_data_router
from services.customer_service.entrypoints.support import support_router
from services.customer_service.policies import project, subscriptions
from services.customer_service.projections.case_board import CaseBoard
from services.customer_service.projections.personal import personal_documents
from services.customer_service.projections.rebuild import Rebuilder, RebuildRunner
from services.customer_service.projections.store import ProjectionStore
from services.customer_service.targets import TargetWatch
from shared.messaging.coalesce import Coalesced
from shared.messaging.event_log import Edge
from shared.messaging.read_model import ReadModelWorker
from shared.messaging.relay import LogRelay, RelayDuty
from shared.runtime import ServiceRuntime, create_http_app

SERVICE_NAME = "customer_service"


def create_customer_service_app(settings: CustomerServiceSettings) -> FastAPI:
    runtime = ServiceRuntime.create(SERVICE_NAME, settings)
    runtime.settings_checks.append(settings.lookup_key_problem)
    # Cases and agent requests: written by HTTP from any replica (the library's checked writes, no cache).
    app = SupportApplication(
        env={**runtime.event_store_env(), "AGGREGATE_CACHE_MAXSIZE": ""},
        targets=settings.targets(),
        complaint_high_value=settings.complaint_high_value,
        near=settings.support_targets_near,
    )
    relay = LogRelay(
        SERVICE_NAME,
        app,
        to_outbound,
        runtime.broker,
        runtime.mongo[runtime.database]["outbox_relay"],
        telemetry=runtime.telemetry,
        topic_prefix=settings.topic_prefix,
    )
    personal = personal_documents(settings, runtime.database)
    runtime.on_closed.append(lambda: asyncio.to_thread(personal.close))
    store = ProjectionStore(runtime.mongo[runtime.database], personal=personal.documents, partitions=runtime.partitions)
    rebuilds = RebuildRunner(Rebuilder(store))
    board = CaseBoard(app)
    # The case log has one writer per case version but no partition: the owner of log 0 watches its targets.
    watch = TargetWatch(app, board, settings.support_targets_check_s)
    # The histories are keyed by order id, like every topic they are folded from: one owner per partition.
    edge = Edge(subscriptions(), settings.topic_prefix)
    keyed = [name for name in edge.topics() if edge.topic(name).key == "order_id"]
    # The logs start their batches on one clock's ticks, and the batches of a tick are folded in one write: the
    # fold's fixed round trips are paid once per tick for the process, not once per log.
    fold = Coalesced(store.record_many)
    runtime.consume(
        runtime.group_id("projections"),
        edge.topics(),
        runtime.partitions,
        lambda index: ReadModelWorker(
            edge,
            project(store, app, fold),
            runtime.telemetry,
            runtime.order_traces,
            also=[RelayDuty(relay), watch] if index == 0 else [],
            on_revoked=store.forget_written,
        ),
        keyed_topics=keyed,
        aligned_batches=True,
    )
    runtime.on_closed.append(lambda: asyncio.to_thread(app.close))
    runtime.before_consuming.append(store.create_collections)
    runtime.on_stop.append(rebuilds.stop)
    return create_http_app(
        runtime,
        [
            customer_service_router(store, rebuilds, runtime.order_traces),
            support_router(app, store, board),
            personal_data_router(app),
        ],
        title="customer service service",
        description="Order history across all services, support cases and agent actions.",
    )
