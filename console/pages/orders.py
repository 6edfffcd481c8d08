"""Support agents' pages: order search by id or e-mail, and the order page (status, lines, shipments, cases,
timeline) with the cancel action for roles that may request it."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from console.services import ServiceFailed
from console.web import CurrentServices, CurrentUser, is_htmx, render, require

Search = Annotated[str, Query(max_length=320)]
# Statuses in which the cancel action is offered: nothing dispatched yet (CONTRACT.md); the services decide anyway.
CANCELLABLE = ("received", "backordered", "reserved")


def order_path(order_id: str, what: str) -> str:
    """customer_service's path for the order (its id escaped: it came from the browser)."""
    return f"/orders/{quote(order_id, safe='')}/{what}"


def orders_router() -> APIRouter:
    router = APIRouter()

    @router.get("/orders", response_class=HTMLResponse)
    async def search(request: Request, user: CurrentUser, services: CurrentServices, q: Search = "") -> HTMLResponse:
        require(user, "orders")
        q = q.strip()
        found: dict[str, Any] | None = None
        problem = None
        if q:
            by = {"email": q} if "@" in q else {"order_id": q}
            try:
                found = await services.customer_service.get(user.token, "/orders", page_size=50, **by)
            except ServiceFailed as failed:
                problem = str(failed)
        return render(request, "orders.html", q=q, found=found, problem=problem)

    @router.get("/orders/{order_id}", response_class=HTMLResponse)
    async def order_page(request: Request, order_id: str, user: CurrentUser, services: CurrentServices) -> HTMLResponse:
        require(user, "orders")
        try:
            history = await services.customer_service.get(user.token, order_path(order_id, "history"))
        except ServiceFailed as failed:
            return render(request, "order.html", failed.status, order_id=order_id, problem=str(failed))
        return render(request, "order.html", order_id=order_id, order=history, cancellable=CANCELLABLE)

    @router.get("/orders/{order_id}/live", response_class=HTMLResponse)
    async def order_live(request: Request, order_id: str, user: CurrentUser, services: CurrentServices) -> HTMLResponse:
        """The part of the order page that refreshes by itself: status, lines, shipments, cases, timeline."""
        try:
            history = await services.customer_service.get(user.token, order_path(order_id, "history"))
        except ServiceFailed as failed:
            return render(request, "order_live.html", order_id=order_id, problem=str(failed))
        return render(request, "order_live.html", order_id=order_id, order=history)

    @router.post("/orders/{order_id}/cancel", response_class=HTMLResponse)
    async def cancel(
        request: Request,
        order_id: str,
        user: CurrentUser,
        services: CurrentServices,
        reason: Annotated[str, Form(max_length=200)] = "",
    ) -> HTMLResponse:
        """Ask customer_service to cancel; the services decide (a role without the scope gets their 403)."""
        reason = reason.strip()
        status, outcome, problem = 202, None, None
        if not reason:
            status, problem = 422, "Give a reason for the cancellation."
        else:
            try:
                body = {"reason": reason}
                await services.customer_service.post(user.token, order_path(order_id, "cancellation"), body)
                outcome = "Cancellation requested: the status and the timeline below show when the order is cancelled."
            except ServiceFailed as failed:
                status, problem = failed.status, str(failed)
        if is_htmx(request):
            return render(
                request, "cancel_form.html", status, order_id=order_id, reason=reason, outcome=outcome, problem=problem
            )
        try:
            history = await services.customer_service.get(user.token, order_path(order_id, "history"))
        except ServiceFailed as failed:
            return render(request, "order.html", failed.status, order_id=order_id, problem=str(failed))
        page = {"order": history, "cancellable": CANCELLABLE, "outcome": outcome, "problem": problem}
        return render(request, "order.html", status, order_id=order_id, reason=reason, **page)

    return router
