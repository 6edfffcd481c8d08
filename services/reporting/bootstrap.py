"""The one place that wires the reporting service: settings in, a runnable HTTP + Kafka app out."""

from __future__ import annotations

from fastapi import FastAPI

from services.reporting.adapters.outbound import CrossingPublisher
from services.reporting.config import ReportingSettings
from services.reporting.digests.schedule import DigestSchedule, ReadModelPosition
from services.reporting.digests.service import Digests
from services.reporting.entrypoints.http import reporting_router
from services.reporting.entrypoints.reports import reports_router
from services.reporting.policies import observed, project, subscriptions
from services.reporting.projections.projection import PartitionProjection
from services.reporting.projections.queries import KpiQueries
from services.reporting.projections.reader import ReadModelReader
from services.reporting.projections.rebuild import Rebuilder, RebuildRunner
from services.reporting.projections.reports import ReportStore
from services.reporting.projections.store import ReportingStore
from shared.messaging.event_log import Edge
from shared.messaging.read_model import ReadModelWorker
from shared.runtime import ServiceRuntime, create_http_app

SERVICE_NAME = "reporting"


def create_reporting_app(settings: ReportingSettings) -> FastAPI:
    runtime = ServiceRuntime.create(SERVICE_NAME, settings)
    store = ReportingStore(runtime.mongo[runtime.database], runtime.partitions)
    rule, policy = settings.ship_by_rule(), settings.replenishment_policy()
    publish = CrossingPublisher(runtime.broker, settings.topic_prefix)
    # Every topic it reads is keyed by order id, except stock levels (by sku): one owner per partition number,
    # which holds the orders and the stock items whose keys hash to it.
    edge = Edge(subscriptions(), settings.topic_prefix)
    keyed = [name for name in edge.topics() if edge.topic(name).key == "order_id"]

    def worker(index: int) -> ReadModelWorker:
        projection = PartitionProjection(store, index, rule, policy, publish)
        return ReadModelWorker(edge, project(projection), runtime.telemetry, also=[projection])

    runtime.consume(runtime.group_id("processing"), edge.topics(), runtime.partitions, worker, keyed_topics=keyed)
    runtime.before_consuming.append(store.create_collections)
    queries = KpiQueries(ReadModelReader(store), rule, policy)
    rebuilds = RebuildRunner(
        Rebuilder(store, edge, settings.kafka_bootstrap_servers, rule, policy, observed, runtime.kafka_security)
    )
    runtime.on_stop.append(rebuilds.stop)
    digests = Digests(
        queries, ReportStore(runtime.mongo[runtime.database]), settings.mailer(), settings.support_case_target_hours
    )
    if settings.digest_schedule:
        position = ReadModelPosition(
            settings.kafka_bootstrap_servers,
            runtime.group_id("processing"),
            edge.topics(),
            runtime.partitions,
            runtime.kafka_security,
        )
        schedule = DigestSchedule(
            digests, position, settings.digest_hour_utc, settings.digest_since, settings.digest_check_every_s
        )
        runtime.on_start.append(schedule.start)
        runtime.on_stop.append(schedule.stop)
    return create_http_app(
        runtime,
        [reporting_router(queries, rebuilds), reports_router(digests)],
        title="reporting service",
        description="The e-commerce manager's view: KPIs from every service's events, replenishment, digests.",
    )
