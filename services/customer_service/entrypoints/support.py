"""HTTP API of customer_service, write side: support cases and agents' requests on orders.

The read model gives agents immediate answers (unknown order → 404; a cancellation of a dispatched order or a
return of undelivered goods → 409) before anything is stored; the orders service still decides for real.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Header, HTTPException, Query

from services.customer_service.application import SupportApplication, UnknownCase
from services.customer_service.domain.case import (
    AlreadyEscalated,
    AlreadyWaiting,
    CaseClosed,
    NotWaiting,
    UnknownCategory,
)
from services.customer_service.domain.targets import UnknownPriority
from services.customer_service.entrypoints.models import (
    AddNote,
    CustomerStep,
    Escalate,
    OpenCase,
    RequestCancellation,
    RequestReturn,
    Resolve,
)
from services.customer_service.projections.case_board import CaseBoard
from services.customer_service.projections.history import History, is_known
from services.customer_service.projections.store import ProjectionStore
from services.customer_service.projections.views import cancellation_refusal, return_refusal
from shared.http.auth import requires
from shared.http.tokens import Principal

T = TypeVar("T")
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]
# The actor of each action: the token's subject, recorded on the events it causes and shown on the timeline.
CaseWriter = Annotated[Principal, requires("cases:write")]


@contextmanager
def _as_http_errors() -> Iterator[None]:
    try:
        yield
    except UnknownCase as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    except (CaseClosed, AlreadyEscalated, AlreadyWaiting, NotWaiting) as error:
        raise HTTPException(status_code=409, detail=str(error)) from None
    except UnknownCategory as error:
        raise HTTPException(status_code=422, detail=f"category: {error}") from None
    except UnknownPriority as error:
        raise HTTPException(status_code=422, detail=f"priority: {error}") from None


QueueState = Literal["breached", "due_soon", "open", "escalated", "waiting_on_customer"]


def support_router(app: SupportApplication, store: ProjectionStore, board: CaseBoard) -> APIRouter:
    router = APIRouter(tags=["support"])

    async def known_order(order_id: str) -> History:
        history = await store.history(order_id)
        if not is_known(history):
            raise HTTPException(status_code=404, detail=f"unknown order {order_id!r}")
        assert history is not None
        return history

    async def call(use_case: Callable[..., T], *args: Any) -> T:
        with _as_http_errors():
            return await asyncio.to_thread(use_case, *args)

    @router.post("/orders/{order_id}/cases", status_code=201, summary="Open a support case for an order")
    async def open_case(
        order_id: str, body: OpenCase, agent: CaseWriter, idempotency_key: IdempotencyKey = None
    ) -> dict[str, Any]:
        await known_order(order_id)
        return await call(
            app.open_case, order_id, body.category, body.summary, agent.subject, idempotency_key, body.priority
        )

    @router.get(
        "/cases",
        summary="Open cases, the worst target clock first (state: breached, due_soon, or a case status)",
        dependencies=[requires("cases:read")],
    )
    async def case_queue(
        state: Annotated[QueueState | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> dict[str, Any]:
        await board.refresh()
        now = datetime.now(UTC)
        return {"as_of": now.isoformat(), "counts": board.counts(now), "cases": board.queue(now, state, limit)}

    @router.get(
        "/orders/{order_id}/cases",
        summary="The support cases of an order (from the history)",
        dependencies=[requires("cases:read")],
    )
    async def order_cases(order_id: str) -> list[dict[str, Any]]:
        cases: list[dict[str, Any]] = (await known_order(order_id))["cases"]
        return cases

    @router.get("/cases/{case_id}", summary="A support case with its notes", dependencies=[requires("cases:read")])
    async def get_case(case_id: str) -> dict[str, Any]:
        found = await asyncio.to_thread(app.get_case, case_id)
        if found is None:
            raise HTTPException(status_code=404, detail=f"unknown case {case_id!r}")
        return found

    @router.post("/cases/{case_id}/notes", status_code=201, summary="Add an agent's note to an open case")
    async def add_note(case_id: str, body: AddNote, agent: CaseWriter) -> dict[str, Any]:
        return await call(app.add_note, case_id, body.note, agent.subject)

    @router.post("/cases/{case_id}/escalate", summary="Escalate a case to the second line")
    async def escalate(case_id: str, body: Escalate, agent: CaseWriter) -> dict[str, Any]:
        return await call(app.escalate, case_id, body.reason, agent.subject)

    @router.post("/cases/{case_id}/waiting", summary="Wait on the customer: the target clocks stop")
    async def wait_on_customer(case_id: str, body: CustomerStep, agent: CaseWriter) -> dict[str, Any]:
        return await call(app.wait_on_customer, case_id, body.note, agent.subject)

    @router.post("/cases/{case_id}/customer-replied", summary="The customer replied: the target clocks run again")
    async def customer_replied(case_id: str, body: CustomerStep, agent: CaseWriter) -> dict[str, Any]:
        return await call(app.customer_replied, case_id, body.note, agent.subject)

    @router.post("/cases/{case_id}/resolve", summary="Resolve a case with its outcome")
    async def resolve(case_id: str, body: Resolve, agent: CaseWriter) -> dict[str, Any]:
        return await call(app.resolve, case_id, body.outcome, agent.subject)

    @router.post("/orders/{order_id}/cancellation", status_code=202, summary="Ask the orders service to cancel")
    async def request_cancellation(
        order_id: str,
        body: RequestCancellation,
        agent: Annotated[Principal, requires("cancellations:request")],
        idempotency_key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        refusal = cancellation_refusal(await known_order(order_id))
        if refusal is not None:
            raise HTTPException(status_code=409, detail=f"cancellation refused: {refusal}")
        return await call(app.request_cancellation_for_agent, order_id, body.reason, agent.subject, idempotency_key)

    @router.post("/orders/{order_id}/returns", status_code=202, summary="Ask the orders service to take a return")
    async def request_return(
        order_id: str,
        body: RequestReturn,
        agent: Annotated[Principal, requires("returns:request")],
        idempotency_key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        lines = [line.model_dump() for line in body.lines]
        refusal = return_refusal(await known_order(order_id), lines)
        if refusal is not None:
            raise HTTPException(status_code=409, detail=f"return refused: {refusal}")
        return await call(app.request_return_for_agent, order_id, lines, body.reason, agent.subject, idempotency_key)

    return router
