"""Support agents' pages: the order search (id, e-mail, tracking number, sku, status, dates) and the order page —
its state now or as of a moment, lines with their counters, shipments with tracking, returns, refunds, cases with
their notes, reviews, the timeline from every service and the trace id — refreshing by itself."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from console.access import User
from console.search import LABELS, PAGE_SIZE, OrderQuery
from console.services import ServiceFailed, Services
from console.terms import CASE_CATEGORIES, CASE_PRIORITIES, ORDER_STATUSES
from console.web import CurrentServices, CurrentUser, render, require

Field = Annotated[str, Query(max_length=320)]
# Statuses in which the cancel action is offered: nothing dispatched yet (CONTRACT.md); the services decide anyway.
CANCELLABLE = ("received", "backordered", "reserved")


def order_path(order_id: str, what: str) -> str:
    """customer_service's path for the order (its id escaped: it came from the browser)."""
    return f"/orders/{quote(order_id, safe='')}/{what}"


class BadMoment(ValueError):
    """An "as of" the console cannot read; the message says what it expects."""


def moment_of(raw: str) -> str:
    """The browser's `YYYY-MM-DDTHH:MM[:SS]` (read as UTC) or a timeline entry's RFC 3339 time, as RFC 3339 UTC."""
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadMoment(f"As of: “{raw}” is not a moment (YYYY-MM-DD HH:MM, UTC).") from None
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.isoformat(timespec="microseconds").replace("+00:00", "Z")


async def order_shown(services: Services, user: User, order_id: str, as_of: str | None = None) -> dict[str, Any]:
    """The order's history with each case's notes (from the case itself: they show the moment they are added)."""
    history: dict[str, Any] = await services.customer_service.get(
        user.token, order_path(order_id, "history"), as_of=as_of
    )
    if user.may("cases") and history["cases"]:
        found = await asyncio.gather(
            *(
                services.customer_service.get(user.token, f"/cases/{quote(c['case_id'], safe='')}")
                for c in history["cases"]
            ),
            return_exceptions=True,
        )
        for case, full in zip(history["cases"], found, strict=True):
            if isinstance(full, BaseException) and not isinstance(full, ServiceFailed):
                raise full
            # A case whose notes cannot be read now shows its count from the history instead.
            case["notes_shown"] = full.get("notes", []) if isinstance(full, dict) else None
    return history


def returnable(history: dict[str, Any]) -> list[dict[str, Any]]:
    """Lines with delivered units not returned yet (what a return may ask for; the services decide anyway)."""
    return [
        {"sku": line["sku"], "units": line["delivered"] - line["returned"]}
        for line in history["lines"]
        if line["delivered"] > line["returned"]
    ]


def orders_router() -> APIRouter:
    router = APIRouter()

    @router.get("/orders", response_class=HTMLResponse)
    async def search(
        request: Request,
        user: CurrentUser,
        services: CurrentServices,
        page: Annotated[int, Query(ge=1, le=10_000)] = 1,
        order_id: Field = "",
        email: Field = "",
        tracking_number: Field = "",
        sku: Field = "",
        status: Field = "",
        placed_from: Field = "",
        placed_to: Field = "",
    ) -> HTMLResponse:
        require(user, "orders")
        typed = {"order_id": order_id, "email": email, "tracking_number": tracking_number, "sku": sku}
        typed |= {"status": status, "placed_from": placed_from, "placed_to": placed_to}
        query = OrderQuery.of(typed, page)
        found: dict[str, Any] | None = None
        problems = query.problems()
        if query.asked and not problems:
            try:
                found = await services.customer_service.get(user.token, "/orders", **query.params())
            except ServiceFailed as failed:
                problems = [str(failed)]
        context = {"query": query, "labels": LABELS, "statuses": ORDER_STATUSES, "found": found}
        context["page_size"] = PAGE_SIZE
        return render(request, "orders.html", 422 if problems else 200, problems=problems, **context)

    @router.get("/orders/{order_id}", response_class=HTMLResponse)
    async def order_page(
        request: Request, order_id: str, user: CurrentUser, services: CurrentServices, as_of: Field = ""
    ) -> HTMLResponse:
        require(user, "orders")
        asked = as_of.strip()
        shown: dict[str, Any] = {"order_id": order_id, "as_of": asked, "cancellable": CANCELLABLE}
        shown |= {"categories": CASE_CATEGORIES, "priorities": CASE_PRIORITIES}
        try:
            at = moment_of(asked) if asked else None
            history = await order_shown(services, user, order_id, at)
        except BadMoment as bad:
            return render(request, "order.html", 422, problem=str(bad), **shown)
        except ServiceFailed as failed:
            return render(request, "order.html", failed.status, problem=str(failed), **shown)
        return render(request, "order.html", order=history, returnable=returnable(history), at=at, **shown)

    @router.get("/orders/{order_id}/live", response_class=HTMLResponse)
    async def order_live(request: Request, order_id: str, user: CurrentUser, services: CurrentServices) -> HTMLResponse:
        """The part of the order page that refreshes by itself: status, lines, shipments, cases, timeline."""
        try:
            history = await order_shown(services, user, order_id)
        except ServiceFailed as failed:
            return render(request, "order_live.html", order_id=order_id, problem=str(failed))
        return render(request, "order_live.html", order_id=order_id, order=history)

    return router
