"""The HTTP API over an in-memory application."""

from __future__ import annotations

from fastapi.testclient import TestClient

from services.inventory.application import InventoryApplication
from services.inventory.entrypoints.http import inventory_router
from tests.unit.deliveries import deliver
from tests.unit.inventory.factories import SKU, delivery, inventory, reservation_requested, stock_received
from tests.unit.protected_api import client_for as protected_client


def client_for(app: InventoryApplication) -> TestClient:
    return protected_client(inventory_router(app), role="logistics")


def test_stock_of_a_sku_per_warehouse_and_in_total() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 10))
    deliver(app.receive_stock, delivery(), stock_received("MAD-1", 1))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 4)))

    response = client_for(app).get(f"/stock/{SKU}")

    assert response.status_code == 200
    assert response.json() == {
        "sku": SKU,
        "warehouses": [
            {"warehouse": "LIS-1", "on_hand": 10, "allocated": 4, "available": 6},
            {"warehouse": "MAD-1", "on_hand": 1, "allocated": 0, "available": 1},
        ],
        "on_hand": 11,
        "allocated": 4,
        "available": 7,
        "backordered": 0,
    }


def test_an_unknown_sku_is_404_with_a_json_reason() -> None:
    response = client_for(inventory()).get("/stock/NOPE")

    assert response.status_code == 404
    assert response.json() == {"detail": "unknown sku 'NOPE'"}


def test_the_reservation_of_an_order() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 1))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 1), ("MUG-BLUE", 2)))
    client = client_for(app)

    response = client.get("/reservations/SO-1")

    assert response.status_code == 200
    assert response.json() == {
        "order_id": "SO-1",
        "lines": [{"sku": SKU, "quantity": 1}, {"sku": "MUG-BLUE", "quantity": 2}],
        "allocations": [{"sku": SKU, "warehouse": "LIS-1", "quantity": 1}],
        "backordered": [{"sku": "MUG-BLUE", "quantity": 2}],
        "shipped": [],
        "released": False,
    }
    assert client.get("/reservations/SO-2").status_code == 404
