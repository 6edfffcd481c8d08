"""What an agent does on the order page — cancel, request a return, open a case, add a note — each sent to
customer_service with the agent's token. With htmx the answer is the action's own fragment (the outcome or the
refusal in words, the page stays); without JavaScript it is a page saying the same, with a link back."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from console.access import User
from console.pages.orders import order_path, returnable
from console.services import ServiceFailed, Services
from console.terms import CASE_CATEGORIES as CATEGORIES
from console.terms import CASE_PRIORITIES as PRIORITIES
from console.web import CurrentServices, CurrentUser, is_htmx, render

Short = Annotated[str, Form(max_length=200)]
Long = Annotated[str, Form(max_length=2000)]
Key = Annotated[str, Form(max_length=64)]


async def open_cases(services: Services, user: User, order_id: str) -> list[dict[str, Any]] | None:
    """The order's cases that still take notes (None when they cannot be read: the select keeps what it had)."""
    try:
        cases = await services.customer_service.get(user.token, order_path(order_id, "cases"))
    except ServiceFailed:
        return None
    return [case for case in cases if case["status"] != "resolved"]


def order_actions_router() -> APIRouter:
    router = APIRouter()

    def answer(request: Request, fragment: str, status: int, order_id: str, **shown: Any) -> HTMLResponse:
        if is_htmx(request):
            return render(request, fragment, status, order_id=order_id, **shown)
        return render(request, "action_result.html", status, order_id=order_id, **shown)

    @router.post("/orders/{order_id}/cancel", response_class=HTMLResponse)
    async def cancel(
        request: Request, order_id: str, user: CurrentUser, services: CurrentServices, reason: Short = ""
    ) -> HTMLResponse:
        """Ask customer_service to cancel; the services decide (a role without the scope gets their 403)."""
        reason = reason.strip()
        status, outcome, problem = 202, None, None
        if not reason:
            status, problem = 422, "Give a reason for the cancellation."
        else:
            try:
                await services.customer_service.post(
                    user.token, order_path(order_id, "cancellation"), {"reason": reason}
                )
                outcome = (
                    "Cancellation requested: shipping checks that nothing has left the warehouse; the status and the "
                    "timeline below show when the order is cancelled (or, if a parcel had left, why it was refused)."
                )
            except ServiceFailed as failed:
                status, problem = failed.status, str(failed)
        return answer(request, "cancel_form.html", status, order_id, reason=reason, outcome=outcome, problem=problem)

    @router.post("/orders/{order_id}/returns", response_class=HTMLResponse)
    async def request_return(
        request: Request,
        order_id: str,
        user: CurrentUser,
        services: CurrentServices,
        sku: Annotated[str, Form(max_length=64)] = "",
        quantity: Annotated[str, Form(max_length=9)] = "",
        reason: Short = "",
        key: Key = "",
    ) -> HTMLResponse:
        reason, status, outcome, problem = reason.strip(), 202, None, None
        units = int(quantity) if quantity.strip().isdigit() else 0
        if not sku:
            status, problem = 422, "Choose the sku to take back."
        elif units < 1:
            status, problem = 422, "Quantity: a whole number of units, at least 1."
        elif not reason:
            status, problem = 422, "Give a reason for the return."
        else:
            body = {"lines": [{"sku": sku, "quantity": units}], "reason": reason}
            try:
                await services.customer_service.post(user.token, order_path(order_id, "returns"), body, once=key)
                outcome = (
                    f"Return of {units} x {sku} requested: the returns below show when the orders service decides."
                )
            except ServiceFailed as failed:
                status, problem = failed.status, str(failed)
        shown = {"outcome": outcome, "problem": problem, "reason": "" if outcome else reason}
        try:
            lines = returnable(await services.customer_service.get(user.token, order_path(order_id, "history")))
        except ServiceFailed:
            lines = [{"sku": sku, "units": units}]
        return answer(request, "return_form.html", status, order_id, returnable=lines, **shown)

    @router.post("/orders/{order_id}/cases", response_class=HTMLResponse)
    async def open_case(
        request: Request,
        order_id: str,
        user: CurrentUser,
        services: CurrentServices,
        category: Annotated[str, Form(max_length=40)] = "",
        priority: Annotated[str, Form(max_length=20)] = "",
        summary: Long = "",
        key: Key = "",
    ) -> HTMLResponse:
        summary, status, outcome, problem, case = summary.strip(), 201, None, None, None
        if category not in CATEGORIES:
            status, problem = 422, "Choose the case's category."
        elif priority and priority not in PRIORITIES:
            status, problem = 422, f"Priority: one of {', '.join(PRIORITIES)} (or by category)."
        elif not summary:
            status, problem = 422, "Write what the case is about (summary)."
        else:
            body = {"category": category, "summary": summary} | ({"priority": priority} if priority else {})
            try:
                case = await services.customer_service.post(user.token, order_path(order_id, "cases"), body, once=key)
                outcome = f"Case {case['case_id']} opened ({case['priority']} priority)."
            except ServiceFailed as failed:
                status, problem = failed.status, str(failed)
        cases = None
        if case is not None:  # the order's history may not list it yet: the note form offers it at once
            cases = [c for c in await open_cases(services, user, order_id) or [] if c["case_id"] != case["case_id"]]
            cases.append(case)
        shown = {"outcome": outcome, "problem": problem, "summary": "" if outcome else summary}
        return answer(
            request,
            "case_form.html",
            status,
            order_id,
            categories=CATEGORIES,
            priorities=PRIORITIES,
            oob_cases=cases,
            **shown,
        )

    @router.post("/orders/{order_id}/notes", response_class=HTMLResponse)
    async def add_note(
        request: Request,
        order_id: str,
        user: CurrentUser,
        services: CurrentServices,
        case_id: Annotated[str, Form(max_length=80)] = "",
        note: Long = "",
    ) -> HTMLResponse:
        note, status, outcome, problem, case = note.strip(), 201, None, None, None
        if not case_id:
            status, problem = 422, "Choose the case the note belongs to."
        elif not note:
            status, problem = 422, "Write the note."
        else:
            try:
                case = await services.customer_service.post(
                    user.token, f"/cases/{quote(case_id, safe='')}/notes", {"note": note}
                )
                outcome = f"Note added to {case_id}."
            except ServiceFailed as failed:
                status, problem = failed.status, str(failed)
        cases = await open_cases(services, user, order_id)
        shown = {"outcome": outcome, "problem": problem, "note": "" if outcome else note, "case": case}
        return answer(request, "note_form.html", status, order_id, open_cases=cases, chosen=case_id, **shown)

    return router
