from __future__ import annotations

from fastapi.testclient import TestClient

from services.orders.application import OrdersApplication
from services.orders.entrypoints.http import orders_router
from tests.unit.deliveries import deliver
from tests.unit.orders import factories as f
from tests.unit.protected_api import client_for


def client(app: OrdersApplication) -> TestClient:
    return client_for(orders_router(lambda order_id: app), role="support_agent")


def test_an_order_is_served_with_its_status_lines_and_totals(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed())
    deliver(app.record_stock_reserved, f.consumed(), f.stock_reserved([("TSHIRT-RED-M", "LIS-1", 2)]))

    response = client(app).get(f"/orders/{f.ORDER_ID}")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "reserved"
    assert body["customer"] == {"id": "C-881", "email": "ana@example.com", "name": "Ana Silva"}
    line = body["lines"][0]
    assert (line["sku"], line["unit_price"], line["ordered"], line["reserved"]) == ("TSHIRT-RED-M", "19.90", 2, 2)
    assert body["shipments"] == [
        {
            "shipment_id": f"{f.ORDER_ID}-LIS-1-1",
            "warehouse": "LIS-1",
            "lines": [{"sku": "TSHIRT-RED-M", "quantity": 2}],
            "state": "requested",
            "late": None,
        }
    ]
    assert body["totals"] == {"ordered": "39.80", "paid": "39.80", "refunded": "0"}


def test_the_returns_of_an_order_are_served(app: OrdersApplication) -> None:
    deliver(app.place_order, f.consumed(), f.order_placed())
    deliver(app.request_return, f.consumed(), f.return_requested({"TSHIRT-RED-M": 1}))

    response = client(app).get(f"/orders/{f.ORDER_ID}/returns")

    assert response.status_code == 200
    assert [(r["return_id"], r["status"]) for r in response.json()] == [(f"{f.ORDER_ID}-R1", "declined")]


def test_an_unknown_order_is_a_404_with_a_json_reason(app: OrdersApplication) -> None:
    for path in ("/orders/SO-404", "/orders/SO-404/returns"):
        response = client(app).get(path)

        assert response.status_code == 404
        assert response.json() == {"detail": "unknown order 'SO-404'"}
