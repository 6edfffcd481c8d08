"""HTTP API of the shipping service: translates requests into application calls."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from services.shipping.application import ShippingApplication
from services.shipping.entrypoints.logistics_http import Page, PageSize, ShipmentPage
from services.shipping.read_model import ShipmentReadModel
from shared.http.auth import Principal, requires
from shared.personal_data.fields import ADDRESS_FIELDS, redacted, sees_personal_data

# Who reads: addresses only for those with `personal_data:read` (logistics labels parcels; a manager does not).
Reader = Annotated[Principal, requires("shipments:read")]


def _shown(shipment: dict[str, Any], reader: Principal) -> dict[str, Any]:
    if sees_personal_data(reader.scopes):
        return shipment
    return {**shipment, "shipping_address": redacted(shipment["shipping_address"], ADDRESS_FIELDS)}


class ShipmentLineView(BaseModel):
    sku: str
    quantity: int


class StepView(BaseModel):
    status: str
    at: datetime
    note: str | None


class TrackingView(BaseModel):
    status: str
    carrier: str
    location: str | None
    detail: str | None
    reported_at: datetime
    applied: bool


class ShipmentView(BaseModel):
    shipment_id: str
    order_id: str
    status: str
    warehouse: str
    lines: list[ShipmentLineView]
    shipping_method: str
    shipping_address: dict[str, Any]
    carrier: str | None
    tracking_number: str | None
    promised_delivery_by: date
    delivered_at: datetime | None
    late: bool
    steps: list[StepView]
    tracking: list[TrackingView]


class NotFound(BaseModel):
    detail: str


def shipping_router(app: ShippingApplication, read_model: ShipmentReadModel | None = None) -> APIRouter:
    """Without a read model only `?order_id=` can be listed (from the event log); with one, any filter."""
    router = APIRouter(tags=["shipping"], dependencies=[requires("shipments:read")])

    if read_model is None:

        @router.get("/shipments", response_model=list[ShipmentView], summary="Shipments of an order")
        async def shipments_of_order(
            order_id: Annotated[str, Query(min_length=1, max_length=64)], reader: Reader
        ) -> list[dict[str, Any]]:
            return [_shown(s, reader) for s in await asyncio.to_thread(app.shipments_for_order, order_id)]

    else:
        listing = read_model

        @router.get(
            "/shipments",
            response_model=list[ShipmentView] | ShipmentPage,
            summary="Shipments of an order (`order_id`: a list, as always), or filtered and paginated (a page)",
        )
        async def list_shipments(
            order_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
            status: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
            warehouse: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
            carrier: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
            page: Page = 1,
            page_size: PageSize = 50,
            *,
            reader: Reader,
        ) -> list[dict[str, Any]] | dict[str, Any]:
            if order_id is not None:
                # From the event log: complete the moment it is stored, with steps and tracking.
                return [_shown(s, reader) for s in await asyncio.to_thread(app.shipments_for_order, order_id)]
            return await listing.shipments(status, warehouse, carrier, page, page_size)

    @router.get(
        "/shipments/{shipment_id}",
        response_model=ShipmentView,
        responses={404: {"model": NotFound, "description": "Unknown shipment"}},
        summary="One shipment with its steps and carrier tracking",
    )
    async def get_shipment(shipment_id: str, reader: Reader) -> dict[str, Any]:
        shipment = await asyncio.to_thread(app.get_shipment, shipment_id)
        if shipment is None:
            raise HTTPException(status_code=404, detail=f"unknown shipment {shipment_id!r}")
        return _shown(shipment, reader)

    return router
