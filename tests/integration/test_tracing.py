"""One trace per order across every service, exported over OTLP to a receiver this test runs."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.actors import Outside
from tests.factories import new_id, order_placed
from tests.flow import deliver_all, order_reaches, shipments_created, stock_ready
from tests.integration.conftest import Infrastructure
from tests.kafka_probe import envelope, producer
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan, otlp_receiver
from tests.stack import RunningStack

CONSUMER, PRODUCER = 5, 4  # OTLP SpanKind values


@pytest.fixture(scope="module")
def traced(
    infrastructure: Infrastructure, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningStack, OtlpReceiver]]:
    """A stack of its own (own topics and databases) exporting spans to a local OTLP receiver."""
    namespace = f"tr{secrets.token_hex(4)}"
    with otlp_receiver() as (receiver, endpoint):
        env = {
            **infrastructure.env(),
            "TOPIC_PREFIX": f"{namespace}.",
            "DATABASE_PREFIX": f"{namespace}_",
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OTEL_METRIC_EXPORT_INTERVAL": "60000",
        }
        stack = RunningStack(env, tmp_path_factory.mktemp("traced-logs"))
        try:
            stack.start()
            yield stack, receiver
        finally:
            stack.stop()


@pytest.fixture(scope="module")
async def traced_outside(
    traced: tuple[RunningStack, OtlpReceiver], infrastructure: Infrastructure
) -> AsyncIterator[Outside]:
    stack, _ = traced
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        yield Outside(kafka, stack.env["TOPIC_PREFIX"])


def spans_of(receiver: OtlpReceiver, trace_id: str) -> list[ReceivedSpan]:
    return [s for s in receiver.snapshot() if s.trace_id == trace_id or trace_id in s.links]


async def test_one_order_is_one_trace_across_all_services(
    traced: tuple[RunningStack, OtlpReceiver], traced_outside: Outside
) -> None:
    stack, receiver = traced
    outside = traced_outside
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 5)

    # The storefront starts the trace and sends its context along, as W3C traceparent.
    trace_id, root_span = secrets.token_hex(16), secrets.token_hex(8)
    value = envelope("OrderPlaced", order_placed(order_id, [(sku, 2, "10.00")]))
    headers = [("traceparent", f"00-{trace_id}-{root_span}-01".encode())]
    await outside.kafka.send_and_wait(
        outside.topic_prefix + "storefront.orders", value, key=order_id.encode(), headers=headers
    )

    await deliver_all(outside, stack, order_id)  # includes carrier updates, sent with no trace context at all
    await outside.request_return(order_id, [(sku, 1)])
    await order_reaches(stack, order_id, "return_requested")
    await outside.return_received(order_id, [(sku, 1, "resellable")])
    await order_reaches(stack, order_id, "refunded")
    await shipments_created(stack, order_id)

    deadline = time.monotonic() + 30
    services = {"orders", "inventory", "shipping", "customer_service"}
    while time.monotonic() < deadline:
        if services <= {s.service for s in spans_of(receiver, trace_id)}:
            break
        await asyncio.sleep(0.5)
    order_spans = spans_of(receiver, trace_id)
    assert services <= {s.service for s in order_spans}, {s.service for s in order_spans}

    # Every span that says it worked on this order is in the order's trace or links to it.
    tagged = [s for s in receiver.snapshot() if s.attributes.get("order.id") == order_id]
    outside_trace = [(s.service, s.name) for s in tagged if s.trace_id != trace_id and trace_id not in s.links]
    assert tagged and not outside_trace
    # The carrier's updates came without trace context; their handling still joined the order's trace.
    # (This module's stack saw one order only, so every carrier update here was about it.)
    carrier = [s for s in receiver.snapshot() if s.name == "handle TrackingUpdated"]
    assert len(carrier) >= 2 and all(s.trace_id == trace_id for s in carrier)

    # Parent/child follows the Kafka hops: a consumer span of inventory is the child of a producer span of orders.
    by_id = {s.span_id: s for s in order_spans}
    hops = {
        (by_id[s.parent_span_id].service, s.service)
        for s in order_spans
        if s.kind == CONSUMER and s.parent_span_id in by_id and by_id[s.parent_span_id].kind == PRODUCER
    }
    assert {("orders", "inventory"), ("inventory", "orders"), ("orders", "shipping"), ("shipping", "orders")} <= hops, (
        hops
    )
    assert ("orders", "customer_service") in hops
    # The storefront's span is the root everything hangs from.
    assert any(s.parent_span_id == root_span for s in order_spans)
    # Support agents find the trace from the order's history.
    history = await stack.json("customer_service", f"/orders/{order_id}/history")
    assert history is not None and history["trace_id"] == trace_id


async def test_a_new_order_starts_its_trace_without_asking_the_store_for_one(
    traced: tuple[RunningStack, OtlpReceiver], traced_outside: Outside
) -> None:
    """OrderPlaced is an order's first message: there is no earlier context to find (orders looked one up per
    order, a store round trip that always came back empty), and its trace is still the storefront's."""
    stack, receiver = traced
    outside = traced_outside
    sku = new_id("SKU")
    await stock_ready(outside, stack, sku, "LIS-1", 10)
    before = await trace_context_reads(stack)
    placed = {new_id("SO"): secrets.token_hex(16) for _ in range(4)}
    for order_id, trace_id in placed.items():
        value = envelope("OrderPlaced", order_placed(order_id, [(sku, 1, "10.00")]))
        headers = [("traceparent", f"00-{trace_id}-{secrets.token_hex(8)}-01".encode())]
        await outside.kafka.send_and_wait(
            outside.topic_prefix + "storefront.orders", value, key=order_id.encode(), headers=headers
        )
    for order_id in placed:
        await order_reaches(stack, order_id, "reserved")

    assert await trace_context_reads(stack) == before
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(any(s.service == "orders" for s in spans_of(receiver, t)) for t in placed.values()):
            break
        await asyncio.sleep(0.5)
    for order_id, trace_id in placed.items():
        orders_spans = [s for s in spans_of(receiver, trace_id) if s.service == "orders"]
        assert any(s.attributes.get("order.id") == order_id for s in orders_spans), order_id


async def trace_context_reads(stack: RunningStack) -> float:
    text = (await stack.get("orders", "/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "fulfillment_store_commands_total"
        and sample.labels.get("command") == "find"
        and sample.labels.get("collection", "").endswith("trace_contexts")
    )
