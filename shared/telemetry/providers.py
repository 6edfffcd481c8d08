"""Tracer and meter providers of one service process.

Exported over OTLP only when the standard `OTEL_EXPORTER_OTLP_*ENDPOINT` variables say where (the exporters
read the rest of the `OTEL_*` settings themselves); otherwise spans are made (for trace ids in logs and in
Kafka headers) but sent nowhere, and nothing errors. Metrics are always readable at `/metrics` in
Prometheus text format.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from functools import cached_property

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Tracer
from prometheus_client import CollectorRegistry

from shared.telemetry.metrics import FulfillmentMetrics

VERSION = "1.0.0"


@dataclass
class Telemetry:
    service: str
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    registry: CollectorRegistry
    metrics: FulfillmentMetrics
    # Whether spans leave the process (an OTLP endpoint is set): spans only for this are made only then.
    exports_traces: bool = False

    @cached_property
    def tracer(self) -> Tracer:
        # Once: a lookup per span was a tenth of a read model's cost per message.
        return self.tracer_provider.get_tracer("fulfillment")

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def _exporting(signal: str) -> bool:
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")
    )


def create_telemetry(service: str) -> Telemetry:
    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME", service),
            "service.version": VERSION,
            "service.namespace": "fulfillment",
            "service.instance.id": f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}",
        }
    )
    tracer_provider = TracerProvider(resource=resource)
    exports_traces = _exporting("TRACES")
    if exports_traces:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))

    # Each process (and each in-process test runtime) gets its own registry, so nothing global collides.
    registry = CollectorRegistry()
    readers: list[MetricReader] = [PrometheusMetricReader(registry=registry)]
    if _exporting("METRICS"):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    metrics = FulfillmentMetrics(meter_provider.get_meter("fulfillment"), service)
    return Telemetry(service, tracer_provider, meter_provider, registry, metrics, exports_traces)
