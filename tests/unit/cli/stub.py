"""A small stand-in for the shipping and customer_service HTTP APIs, served for real on a local port, so the
CLI is tested end to end over HTTP (URL variables, status codes, JSON errors) without the services."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import Body, FastAPI, HTTPException, Request

from tests.stack import free_port

LATE = {
    "shipment_id": "SO-1-LIS-1-1",
    "order_id": "SO-1",
    "warehouse": "LIS-1",
    "status": "in_transit",
    "promised_delivery_by": "2026-12-02",
    "carrier": "CTT",
    "tracking_number": "TN0001",
    "carrier_detail": None,
}
HISTORY = {
    "order_id": "SO-1",
    "status": "shipped",
    "customer": {"id": "C-881", "email": "ana@example.com"},
    "timeline": [
        {"at": "2026-11-28T10:15:00.120Z", "source": "storefront", "type": "OrderPlaced", "summary": "Order placed"},
        {
            "at": "2026-11-28T10:15:01Z",
            "source": "orders",
            "type": "OrderAccepted",
            "summary": "Order received: 2 items",
        },
    ],
}


@dataclass
class Stub:
    url: str
    requests: list[tuple[str, str, dict[str, Any], Any]] = field(default_factory=list)
    # Progress answers of the rebuild, one per poll; the last one repeats.
    rebuild_states: list[dict[str, Any]] = field(default_factory=list)
    # The Authorization header of each request, by path (the CLI must send one).
    authorizations: dict[str, str | None] = field(default_factory=dict)

    def last(self, path: str) -> tuple[dict[str, Any], Any]:
        for _, seen_path, params, body in reversed(self.requests):
            if seen_path == path:
                return params, body
        raise AssertionError(f"no request to {path}; seen {[r[1] for r in self.requests]}")


def build(stub: Stub) -> FastAPI:
    api = FastAPI()

    @api.middleware("http")
    async def record(request: Request, call_next: Any) -> Any:
        raw = await request.body()
        body = json.loads(raw) if raw else None
        stub.requests.append((request.method, request.url.path, dict(request.query_params), body))
        stub.authorizations[request.url.path] = request.headers.get("authorization")
        return await call_next(request)

    @api.get("/shipments/late")
    async def late() -> dict[str, Any]:
        return {"items": [LATE], "page": 1, "page_size": 50, "total": 1}

    @api.get("/shipments/exceptions")
    async def exceptions() -> dict[str, Any]:
        item = LATE | {"status": "exception", "carrier_detail": "address not found"}
        return {"items": [item], "page": 1, "page_size": 50, "total": 1}

    @api.get("/orders/{order_id}/history")
    async def history(order_id: str) -> dict[str, Any]:
        if order_id != "SO-1":
            raise HTTPException(404, f"unknown order {order_id!r}")
        return HISTORY

    @api.get("/orders")
    async def search() -> dict[str, Any]:
        item = {"order_id": "SO-1", "status": "shipped", "customer": {"id": "C-881", "email": "ana@example.com"}}
        return {"items": [item | {"total": "39.80"}], "page": 1, "page_size": 20, "total": 1}

    @api.post("/orders/{order_id}/cases", status_code=201)
    async def open_case(order_id: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        if body.get("summary") == "":
            raise HTTPException(422, [{"loc": ["body", "summary"], "msg": "String should have at least 1 character"}])
        return {"case_id": "CASE-7", "order_id": order_id}

    @api.post("/cases/{case_id}/notes")
    async def note(case_id: str) -> dict[str, Any]:
        if case_id == "CASE-CLOSED":
            raise HTTPException(409, "case 'CASE-CLOSED' is resolved")
        return {"case_id": case_id}

    @api.post("/cases/{case_id}/resolve")
    async def resolve(case_id: str) -> dict[str, Any]:
        return {"case_id": case_id, "status": "resolved"}

    @api.post("/projections/rebuild", status_code=202)
    async def rebuild() -> dict[str, Any]:
        return {"rebuild_id": "RB-1"}

    @api.get("/projections/rebuild/{rebuild_id}")
    async def rebuild_state(rebuild_id: str) -> dict[str, Any]:
        return stub.rebuild_states.pop(0) if len(stub.rebuild_states) > 1 else stub.rebuild_states[0]

    return api


@contextmanager
def serving() -> Iterator[Stub]:
    port = free_port()
    stub = Stub(url=f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(build(stub), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the stub server did not start")
        time.sleep(0.01)
    try:
        yield stub
    finally:
        server.should_exit = True
        thread.join(5)
