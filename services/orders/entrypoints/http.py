"""HTTP API of the orders service: translates requests into application calls."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException

from services.orders.application import OrdersApplication
from shared.http.auth import Principal, requires
from shared.personal_data.fields import ADDRESS_FIELDS, CUSTOMER_FIELDS, redacted, sees_personal_data


def orders_router(reader: Callable[[str], OrdersApplication]) -> APIRouter:
    """`reader(order_id)`: the application reading the log that holds the order (any replica serves any order)."""
    router = APIRouter(tags=["orders"], dependencies=[requires("orders:read")])

    @router.get("/orders/{order_id}", summary="An order: status, lines with their counters, shipments, returns")
    async def get_order(order_id: str, caller: Annotated[Principal, requires("orders:read")]) -> dict[str, Any]:
        order = await asyncio.to_thread(reader(order_id).get_order, order_id)
        if order is None:
            raise HTTPException(status_code=404, detail=f"unknown order {order_id!r}")
        if not sees_personal_data(caller.scopes):  # a manager: the order without names, emails, addresses
            order["customer"] = redacted(order["customer"], CUSTOMER_FIELDS)
            order["shipping_address"] = redacted(order["shipping_address"], ADDRESS_FIELDS)
        return order

    @router.get("/orders/{order_id}/returns", summary="The return authorizations of an order, oldest first")
    async def get_returns(order_id: str) -> list[dict[str, Any]]:
        returns = await asyncio.to_thread(reader(order_id).get_returns, order_id)
        if returns is None:
            raise HTTPException(status_code=404, detail=f"unknown order {order_id!r}")
        return returns

    return router
