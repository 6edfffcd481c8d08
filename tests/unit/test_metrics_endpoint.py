"""`GET /metrics`: the service's own OpenTelemetry instruments, as a Prometheus server scrapes them."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.http.metrics import metrics_router
from shared.telemetry import create_telemetry


def test_metrics_show_the_services_instruments_in_prometheus_text() -> None:
    telemetry = create_telemetry("orders")
    telemetry.metrics.consumed.add(3, {"topic": "storefront.orders", "type": "OrderPlaced"})
    telemetry.metrics.dead_letters.add(1, {"topic": "storefront.orders"})
    telemetry.metrics.record_lag("orders", "storefront.orders", 0, 7)
    http = FastAPI()
    http.include_router(metrics_router(telemetry.registry))

    response = TestClient(http).get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = [line for line in response.text.splitlines() if not line.startswith("#")]
    consumed = next(line for line in samples if line.startswith("fulfillment_messages_consumed_total{"))
    assert 'topic="storefront.orders"' in consumed and 'type="OrderPlaced"' in consumed
    assert consumed.endswith(" 3.0")
    assert any(line.startswith("fulfillment_messages_dead_lettered_total{") for line in samples)
    lag = next(line for line in samples if line.startswith("fulfillment_consumer_lag{"))
    assert 'partition="0"' in lag and lag.endswith(" 7.0")
    assert 'service_name="orders"' in response.text  # target_info: which service answered


def test_a_scraper_asking_for_openmetrics_gets_openmetrics() -> None:
    telemetry = create_telemetry("inventory")
    http = FastAPI()
    http.include_router(metrics_router(telemetry.registry))

    response = TestClient(http).get("/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


def test_each_service_process_has_its_own_registry() -> None:
    orders, inventory = create_telemetry("orders"), create_telemetry("inventory")
    orders.metrics.orders_received.add(1, {"outcome": "accepted"})
    http = FastAPI()
    http.include_router(metrics_router(inventory.registry))

    assert "fulfillment_orders_received" not in TestClient(http).get("/metrics").text
