"""`GET /orders/{id}/history?as_of=` on the real FerretDB: the moment is compared as a moment, whatever its year."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from cli.tokens import bearer
from services.customer_service.entrypoints.http import customer_service_router
from services.customer_service.projections.rebuild import Rebuilder, RebuildRunner
from services.customer_service.projections.store import ProjectionStore
from shared.http.auth import install_access_control
from shared.settings import ServiceSettings
from shared.telemetry.trace_context import OrderTraces
from tests.unit.customer_service import factories as f


@pytest.fixture
async def http(mongo: AsyncMongoClient[dict[str, Any]], unique: str) -> AsyncIterator[httpx.AsyncClient]:
    """customer_service's read API over a store holding one delivered order (placed 2026-11-28T10:15Z)."""
    database = mongo[f"test_as_of_{unique}"]
    store = ProjectionStore(database, shards=2)
    for event in f.full_flow():
        await store.record(event)
    app = FastAPI()
    settings = ServiceSettings()
    install_access_control(app, settings, max_body_bytes=settings.max_request_bytes)
    app.include_router(customer_service_router(store, RebuildRunner(Rebuilder(store)), OrderTraces(database["t"])))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=bearer("manager")) as client:
            yield client
    finally:
        await mongo.drop_database(database.name)


async def history(http: httpx.AsyncClient, as_of: str | None = None) -> httpx.Response:
    return await http.get(f"/orders/{f.ORDER_ID}/history", params={} if as_of is None else {"as_of": as_of})


async def test_before_the_year_1000_the_order_did_not_exist(http: httpx.AsyncClient) -> None:
    response = await history(http, "0999-01-01T00:00:00Z")

    assert response.status_code == 404
    assert response.json() == {"detail": f"order '{f.ORDER_ID}' did not exist at 0999-01-01T00:00:00.000000Z"}


async def test_an_offset_is_taken_into_account(http: httpx.AsyncClient) -> None:
    # 11:00+01:00 is 10:00Z, a quarter of an hour before the order was placed.
    assert (await history(http, "2026-11-28T11:00:00+01:00")).status_code == 404

    # 12:30+01:00 is 11:30Z: reserved, a shipment requested, nothing picked yet.
    response = await history(http, "2026-11-28T12:30:00+01:00")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "reserved" and body["as_of"] == "2026-11-28T11:30:00.000000Z"
    assert max(entry["at"] for entry in body["timeline"]) <= "2026-11-28T11:30:00.000000Z"
    assert (await history(http)).json()["status"] == "delivered"


async def test_a_moment_outside_the_calendar_in_utc_is_a_400_naming_as_of(http: httpx.AsyncClient) -> None:
    response = await history(http, "0001-01-01T00:00:00+01:00")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("as_of: 0001-01-01T00:00:00+01:00 is out of range")
