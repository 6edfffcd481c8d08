"""Reports to download: reporting's stored digests, fetched with the manager's token and handed to the browser
as a file (the browser holds no token for reporting itself), and a digest produced on demand."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from console.access import User
from console.services import ServiceFailed, Services
from console.web import CurrentServices, CurrentUser, render, require

FORMATS = {"csv": "csv", "html": "html", "pdf": "pdf", "json": "json"}
REPORT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,80}$")
LISTED = 20


async def reports_of(services: Services, user: User) -> dict[str, Any]:
    try:
        found = await services.reporting.get(user.token, "/reports", limit=LISTED)
    except ServiceFailed as failed:
        return {"reports": None, "reports_problem": str(failed)}
    return {"reports": found["items"]}


def reports_router() -> APIRouter:
    router = APIRouter()

    @router.get("/manager/reports/{report_id}")
    async def download(
        report_id: str,
        user: CurrentUser,
        services: CurrentServices,
        format: Annotated[str, Query(max_length=4)] = "csv",
    ) -> Response:
        require(user, "manager")
        if format not in FORMATS or not REPORT_ID.match(report_id):
            raise HTTPException(status_code=404)
        content, media_type = await services.reporting.download(
            user.token, f"/reports/{quote(report_id, safe='')}", format=format
        )
        name = re.sub(r"[^A-Za-z0-9._-]", "_", report_id)
        disposition = "inline" if format == "html" else "attachment"
        return Response(
            content,
            media_type=media_type,
            headers={
                "Content-Disposition": f'{disposition}; filename="{name}.{FORMATS[format]}"',
                # A digest's HTML is reporting's own page: shown as a document, never as part of the console.
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            },
        )

    @router.post("/manager/reports", response_class=HTMLResponse)
    async def produce(
        request: Request,
        user: CurrentUser,
        services: CurrentServices,
        kind: Annotated[str, Form(max_length=10)] = "daily",
        day: Annotated[str, Form(max_length=10)] = "",
    ) -> HTMLResponse:
        require(user, "manager")
        status, outcome, problem = 201, None, None
        try:
            chosen = date.fromisoformat(day) if day else datetime.now(UTC).date()
        except ValueError:
            chosen, status, problem = None, 422, f"Day: “{day}” is not a day (YYYY-MM-DD)."
        if kind not in ("daily", "weekly"):
            status, problem = 422, "Kind: daily or weekly."
        if problem is None and chosen is not None:
            try:
                made = await services.reporting.post(user.token, "/reports", {"kind": kind, "day": chosen.isoformat()})
                outcome = f"Report {made['report_id']} produced ({made['from']} to {made['to']})."
            except ServiceFailed as failed:
                status, problem = failed.status, str(failed)
        listed = await reports_of(services, user)
        return render(request, "reports.html", status, outcome=outcome, problem=problem, **listed)

    return router
