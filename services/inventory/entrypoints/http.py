"""HTTP API of the inventory service: translates requests into application calls."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from services.inventory.application import InventoryApplication
from shared.http.auth import requires


class WarehouseStock(BaseModel):
    warehouse: str
    on_hand: int
    allocated: int
    available: int


class SkuStockView(BaseModel):
    sku: str
    warehouses: list[WarehouseStock]
    on_hand: int
    allocated: int
    available: int
    backordered: int


class SkuQuantityView(BaseModel):
    sku: str
    quantity: int


class AllocationView(BaseModel):
    sku: str
    warehouse: str
    quantity: int


class ReservationView(BaseModel):
    order_id: str
    lines: list[SkuQuantityView]
    allocations: list[AllocationView]
    backordered: list[SkuQuantityView]
    shipped: list[AllocationView]
    released: bool


def inventory_router(app: InventoryApplication) -> APIRouter:
    router = APIRouter(tags=["inventory"], dependencies=[requires("stock:read")])

    @router.get("/stock/{sku}", response_model=SkuStockView, responses={404: {"description": "Unknown sku"}})
    async def get_stock(sku: str) -> dict[str, Any]:
        """Units of a sku per warehouse (on hand, allocated to orders, available) and in total."""
        stock = await asyncio.to_thread(app.get_stock, sku)
        if stock is None:
            raise HTTPException(status_code=404, detail=f"unknown sku {sku!r}")
        return stock

    @router.get(
        "/reservations/{order_id}",
        response_model=ReservationView,
        responses={404: {"description": "No reservation for this order"}},
    )
    async def get_reservation(order_id: str) -> dict[str, Any]:
        """What inventory holds for an order: allocations per warehouse, backordered lines, what shipped."""
        reservation = await asyncio.to_thread(app.get_reservation, order_id)
        if reservation is None:
            raise HTTPException(status_code=404, detail=f"no reservation for order {order_id!r}")
        return reservation

    return router
