"""HTTP API of the digests: list, fetch (JSON, HTML, CSV, PDF) and produce one on demand."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from services.reporting.digests.render import to_csv, to_html, to_pdf
from services.reporting.digests.service import Digests, period_of
from shared.http.auth import requires

Kind = Literal["daily", "weekly"]


class ReportRequest(BaseModel):
    kind: Kind = Field(description="daily: the given day; weekly: the ISO week (Monday to Sunday) holding it")
    day: date = Field(description="A UTC day, YYYY-MM-DD")


def reports_router(digests: Digests) -> APIRouter:
    router = APIRouter(tags=["reports"])
    # Producing a digest on demand changes no business data and reads only what the manager may read, so it needs
    # the same scope as reading reports (shared/http/scopes.py has no write scope for reports).
    reports_read = [requires("reports:read")]

    @router.get("/reports", summary="Stored digests, newest first", dependencies=reports_read)
    async def list_reports(
        kind: Annotated[Kind | None, Query()] = None, limit: Annotated[int, Query(ge=1, le=500)] = 50
    ) -> dict[str, Any]:
        return {"items": await digests.reports.list(kind, limit)}

    @router.post("/reports", status_code=201, summary="Produce a digest now (stored)", dependencies=reports_read)
    async def produce(request: Annotated[ReportRequest, Body()]) -> dict[str, Any]:
        content = await digests.on_demand(period_of(request.kind, request.day))
        return {k: content[k] for k in ("report_id", "kind", "from", "to", "generated_at", "has_data")}

    @router.get(
        "/reports/{report_id}",
        summary="A digest: JSON, or ?format=html|csv|pdf",
        dependencies=reports_read,
        response_model=None,
    )
    async def get_report(
        report_id: str, format: Annotated[Literal["json", "html", "csv", "pdf"], Query()] = "json"
    ) -> Any:
        content = await digests.reports.get(report_id)
        if content is None:
            raise HTTPException(status_code=404, detail=f"unknown report {report_id!r}")
        if format == "html":
            return HTMLResponse(to_html(content))
        if format == "csv":
            return PlainTextResponse(to_csv(content), media_type="text/csv")
        if format == "pdf":
            return Response(to_pdf(content), media_type="application/pdf")
        return content

    return router
