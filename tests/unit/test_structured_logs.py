"""Log lines a machine can read: JSON with the service, the order, the event and the trace they belong to."""

from __future__ import annotations

import io
import json
import logging

from opentelemetry.sdk.trace import TracerProvider

from shared.telemetry.logs import ContextFilter, JsonFormatter, event_id_var, order_id_var


def test_a_log_line_carries_service_order_event_and_trace() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter("orders"))
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.structured")
    logger.addHandler(handler)
    logger.propagate = False
    tracer = TracerProvider().get_tracer("test")
    order_token, event_token = order_id_var.set("SO-1"), event_id_var.set("e-1")
    try:
        with tracer.start_as_current_span("work") as span:
            logger.warning("dead-lettered: %s", "data.lines.0.quantity: must be >= 1")
            trace_id = format(span.get_span_context().trace_id, "032x")
    finally:
        order_id_var.reset(order_token)
        event_id_var.reset(event_token)
        logger.removeHandler(handler)

    line = json.loads(stream.getvalue())
    assert line["service"] == "orders" and line["order_id"] == "SO-1" and line["event_id"] == "e-1"
    assert line["trace_id"] == trace_id and line["level"] == "warning"
    assert line["message"] == "dead-lettered: data.lines.0.quantity: must be >= 1"


def test_outside_any_order_the_fields_are_left_out() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter("inventory"))
    handler.setFormatter(JsonFormatter())
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "started", None, None)
    handler.handle(record)
    line = json.loads(stream.getvalue())
    assert line["service"] == "inventory" and "order_id" not in line and "trace_id" not in line
