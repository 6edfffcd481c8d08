"""`GET /shipments?order_id=` and `GET /shipments/{shipment_id}` over the in-memory application."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.shipping.application import ShippingApplication
from services.shipping.entrypoints.http import shipping_router
from tests.unit.deliveries import deliver
from tests.unit.protected_api import client_for
from tests.unit.shipping import factories as f


@pytest.fixture
def client(dispatched_app: ShippingApplication) -> TestClient:
    deliver(dispatched_app.record_tracking, f.consumed(), f.tracking("in_transit"), f.at(1, 20))
    return client_for(shipping_router(dispatched_app), role="logistics")


def test_a_shipment_is_shown_with_its_steps_and_tracking(client: TestClient) -> None:
    response = client.get(f"/shipments/{f.SHIPMENT_ID}")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "in_transit"
    assert body["tracking_number"] == f.TRACKING_NUMBER
    assert body["promised_delivery_by"] == "2026-12-02"
    assert body["lines"] == [{"sku": "TSHIRT-RED-M", "quantity": 2}]
    assert [step["status"] for step in body["steps"]] == ["requested", "dispatched"]
    assert body["tracking"][0]["status"] == "in_transit"
    assert body["tracking"][0]["reported_at"].startswith("2026-12-01T20:00:00")


def test_an_unknown_shipment_is_a_404_with_a_json_detail(client: TestClient) -> None:
    response = client.get("/shipments/NOPE-1")

    assert response.status_code == 404
    assert response.json() == {"detail": "unknown shipment 'NOPE-1'"}


def test_shipments_are_listed_by_order(client: TestClient) -> None:
    response = client.get("/shipments", params={"order_id": f.ORDER_ID})

    assert response.status_code == 200
    assert [shipment["shipment_id"] for shipment in response.json()] == [f.SHIPMENT_ID]
    assert client.get("/shipments", params={"order_id": "SO-UNKNOWN"}).json() == []


def test_listing_shipments_requires_an_order_id(client: TestClient) -> None:
    assert client.get("/shipments").status_code == 422
