"""HTTP for the logistics team: work queues from the read model, and warehouse scans as an alternative to the
`warehouse.events` topic (same envelope, same use cases, same idempotency by `event_id`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.shipping.application import ShippingApplication
from services.shipping.read_model import MAX_PAGE_SIZE, ShipmentReadModel
from shared.contracts.envelope import InvalidMessage, parse_message
from shared.http.auth import requires
from shared.messaging.application import Delivery
from shared.messaging.logs import LogSet
from shared.messaging.subscriptions import Subscription

Page = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]


class SummaryLine(BaseModel):
    sku: str
    quantity: int


class ShipmentSummary(BaseModel):
    shipment_id: str
    order_id: str
    warehouse: str
    status: str
    next_step: str | None
    shipping_method: str
    lines: list[SummaryLine]
    carrier: str | None
    tracking_number: str | None
    promised_delivery_by: str
    requested_at: str
    updated_at: str
    delivered_at: str | None
    delivered_late: bool | None
    carrier_location: str | None
    carrier_detail: str | None
    version: int


class ShipmentPage(BaseModel):
    items: list[ShipmentSummary]
    page: int
    page_size: int
    total: int


class WarehouseQueue(BaseModel):
    warehouse: str
    pick: list[ShipmentSummary]
    pack: list[ShipmentSummary]
    dispatch: list[ShipmentSummary]


class ScanResult(BaseModel):
    event_id: str
    type: str
    shipment_id: str
    applied: bool
    duplicate: bool


class Problem(BaseModel):
    detail: str


SCAN_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["event_id", "type", "occurred_at", "data"],
                "properties": {
                    "event_id": {"type": "string", "format": "uuid"},
                    "type": {"type": "string", "enum": ["ShipmentPicked", "ShipmentPacked", "ShipmentDispatched"]},
                    "occurred_at": {"type": "string", "format": "date-time"},
                    "data": {
                        "type": "object",
                        "required": ["shipment_id"],
                        "properties": {
                            "shipment_id": {"type": "string"},
                            "carrier": {"type": "string", "description": "ShipmentDispatched only"},
                            "tracking_number": {"type": "string", "description": "ShipmentDispatched only"},
                        },
                    },
                },
            }
        }
    },
}


def logistics_router(
    logs: LogSet[ShippingApplication], read_model: ShipmentReadModel, warehouse_scans: Subscription
) -> APIRouter:
    """`warehouse_scans` is the service's `warehouse.events` subscription: its handlers are the use cases, run
    through the log's unit of work like a record from Kafka (so the same event id counts once either way)."""
    app = logs.reader()
    router = APIRouter(tags=["logistics"])
    scan_types = {type_: warehouse_scans.payload_types[type_] for type_ in sorted(warehouse_scans.handlers)}

    @router.get(
        "/shipments/late",
        response_model=ShipmentPage,
        summary="Promised date passed, not delivered",
        dependencies=[requires("shipments:read")],
    )
    async def late_shipments(page: Page = 1, page_size: PageSize = 50) -> dict[str, Any]:
        return await read_model.late(datetime.now(UTC).date(), page, page_size)

    @router.get(
        "/shipments/exceptions",
        response_model=ShipmentPage,
        summary="Current carrier status exception, delivery_attempted or returned_to_sender",
        dependencies=[requires("shipments:read")],
    )
    async def exception_shipments(page: Page = 1, page_size: PageSize = 50) -> dict[str, Any]:
        return await read_model.exceptions(page, page_size)

    @router.get(
        "/warehouses/{warehouse}/queue",
        response_model=WarehouseQueue,
        summary="Waiting to be picked, packed, dispatched",
        dependencies=[requires("queues:read")],
    )
    async def warehouse_queue(
        warehouse: Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")],
    ) -> dict[str, Any]:
        return {"warehouse": warehouse, **await read_model.warehouse_queue(warehouse)}

    @router.post(
        "/warehouse/events",
        status_code=202,
        response_model=ScanResult,
        openapi_extra={"requestBody": SCAN_BODY},
        responses={
            200: {"model": ScanResult, "description": "Already processed (same event_id, over HTTP or Kafka)"},
            404: {"model": Problem, "description": "Unknown shipment"},
            409: {"model": Problem, "description": "Refused: shipment cancelled, or tracking number in use"},
            422: {"model": Problem, "description": "Not a valid scan; `detail` names the field"},
        },
        summary="A warehouse scan, as on the warehouse.events topic",
        dependencies=[requires("warehouse:write")],
    )
    async def post_scan(request: Request) -> JSONResponse:
        try:
            message = parse_message(await request.body(), scan_types)
        except InvalidMessage as invalid:
            raise HTTPException(status_code=422, detail=invalid.reason) from None
        shipment_id: str = message.data.shipment_id
        result = ScanResult(
            event_id=str(message.event_id), type=message.type, shipment_id=shipment_id, applied=False, duplicate=True
        )
        if await asyncio.to_thread(app.get_shipment, shipment_id) is None:
            raise HTTPException(status_code=404, detail=f"unknown shipment {shipment_id!r}")
        handler = warehouse_scans.handlers[message.type]
        processed = await logs.command(None, Delivery(str(message.event_id), lambda: handler(message)))
        if processed.refused:
            raise HTTPException(status_code=409, detail=processed.refused[0][1].reason) from None
        if processed.duplicates:
            return JSONResponse(result.model_dump(), status_code=200)
        applied = result.model_copy(update={"applied": True, "duplicate": False})
        return JSONResponse(applied.model_dump(), status_code=202)

    return router
