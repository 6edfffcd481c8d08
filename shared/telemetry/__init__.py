"""OpenTelemetry for every service: traces, metrics and structured logs, set up once here."""

from shared.telemetry.metrics import FulfillmentMetrics
from shared.telemetry.providers import Telemetry, create_telemetry
from shared.telemetry.trace_context import OrderTraces

__all__ = ["FulfillmentMetrics", "OrderTraces", "Telemetry", "create_telemetry"]
