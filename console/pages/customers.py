"""The customer page: the customer's orders, their cases and returns, and the lifetime value (customer_service's
lifetime totals: what the customer ordered, what was refunded, net, per currency)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from console.services import ServiceFailed
from console.web import CurrentServices, CurrentUser, render, require

RETURN_STATUSES = ("return_requested", "returned", "refunded")
# Orders whose cases are fetched for the page (the newest first); older ones show their open-case count.
CASES_OF_NEWEST = 20


def customers_router() -> APIRouter:
    router = APIRouter()

    @router.get("/customers/{customer_id}", response_class=HTMLResponse)
    async def customer_page(
        request: Request, customer_id: str, user: CurrentUser, services: CurrentServices
    ) -> HTMLResponse:
        require(user, "customers")
        cs = services.customer_service
        try:
            customer = await cs.get(user.token, f"/customers/{quote(customer_id, safe='')}")
        except ServiceFailed as failed:
            return render(request, "customer.html", failed.status, customer_id=customer_id, problem=str(failed))
        orders = customer["orders"]
        cases: list[dict[str, Any]] = []
        problem = None
        if user.may("cases"):
            newest = [order["order_id"] for order in orders[:CASES_OF_NEWEST]]
            try:
                found = await asyncio.gather(
                    *(cs.get(user.token, f"/orders/{quote(order_id, safe='')}/cases") for order_id in newest)
                )
            except ServiceFailed as failed:
                problem = f"Cases could not be read: {failed}"
            else:
                for order_id, order_cases in zip(newest, found, strict=True):
                    cases.extend({**case, "order_id": order_id} for case in order_cases)
        returns = [order for order in orders if order["status"] in RETURN_STATUSES]
        return render(
            request,
            "customer.html",
            customer_id=customer_id,
            customer=customer,
            cases=cases,
            returns=returns,
            problem=problem,
        )

    return router
