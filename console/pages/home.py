"""Home: a count per queue that needs someone (each opening the queue it counts), for what the user's role may
read, from the services' own endpoints. Breached support cases are listed on the page itself."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from console.access import User
from console.services import ServiceFailed, Services
from console.web import CurrentServices, CurrentUser, render

Rows = list[dict[str, Any]]
Fetch = Callable[[Services, str], Awaitable[tuple[int, Rows]]]


async def _shipments(services: Services, token: str, path: str) -> tuple[int, Rows]:
    page = await services.shipping.get(token, path, page_size=50)
    return int(page["total"]), list(page["items"])


async def _orders_in(services: Services, token: str, status: str) -> tuple[int, Rows]:
    found = await services.customer_service.get(token, "/orders", status=status, page_size=50)
    return int(found["total"]), list(found["orders"])


async def _reorder(services: Services, token: str) -> tuple[int, Rows]:
    found = await services.reporting.get(token, "/replenishment")
    rows = list(found["order_now"])
    return len(rows), rows


async def _cases(services: Services, token: str, state: str) -> tuple[int, Rows]:
    found = await services.customer_service.get(token, "/cases", state=state, limit=200)
    return len(found["cases"]), list(found["cases"])


@dataclass(frozen=True)
class Queue:
    key: str
    label: str
    needs: str  # the scope its service asks for
    kind: str  # how its rows are shown: shipments, orders, skus, cases
    fetch: Fetch


QUEUES = (
    Queue("late", "Late shipments", "shipments:read", "shipments", lambda s, t: _shipments(s, t, "/shipments/late")),
    Queue(
        "exceptions",
        "Carrier exceptions",
        "shipments:read",
        "shipments",
        lambda s, t: _shipments(s, t, "/shipments/exceptions"),
    ),
    Queue("backorders", "Backordered orders", "orders:read", "orders", lambda s, t: _orders_in(s, t, "backordered")),
    Queue("reorder", "Skus under their reorder point", "kpis:read", "skus", _reorder),
    Queue("cases_breached", "Cases past their target", "cases:read", "cases", lambda s, t: _cases(s, t, "breached")),
    Queue("cases_due_soon", "Cases near their target", "cases:read", "cases", lambda s, t: _cases(s, t, "due_soon")),
    # Goods back, refund not issued yet: the orders in status `returned` (docs/fulfillment-flow.md).
    Queue(
        "refunds", "Returns waiting for a refund", "orders:read", "orders", lambda s, t: _orders_in(s, t, "returned")
    ),
)
BY_KEY = {queue.key: queue for queue in QUEUES}


async def _count(queue: Queue, services: Services, user: User) -> dict[str, Any]:
    try:
        total, rows = await queue.fetch(services, user.token)
    except ServiceFailed as failed:
        return {"queue": queue, "count": None, "rows": [], "problem": str(failed)}
    return {"queue": queue, "count": total, "rows": rows, "problem": None}


def home_router() -> APIRouter:
    router = APIRouter()

    async def counts(user: User, services: Services) -> list[dict[str, Any]]:
        mine = [queue for queue in QUEUES if queue.needs in user.scopes]
        return list(await asyncio.gather(*(_count(queue, services, user) for queue in mine)))

    @router.get("/home", response_class=HTMLResponse)
    async def home(request: Request, user: CurrentUser, services: CurrentServices) -> HTMLResponse:
        return render(request, "home.html", counts=await counts(user, services))

    @router.get("/home/counts", response_class=HTMLResponse)
    async def home_counts(request: Request, user: CurrentUser, services: CurrentServices) -> HTMLResponse:
        return render(request, "home_counts.html", counts=await counts(user, services))

    @router.get("/queues/{key}", response_class=HTMLResponse)
    async def queue_page(request: Request, key: str, user: CurrentUser, services: CurrentServices) -> HTMLResponse:
        queue = BY_KEY.get(key)
        if queue is None:
            raise HTTPException(status_code=404)
        shown = await _count(queue, services, user)
        return render(request, "queue_list.html", 200 if shown["problem"] is None else 502, shown=shown)

    return router
