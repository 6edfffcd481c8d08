"""The manager's page: KPI tiles with their trend over a chosen range (asked again every few seconds), charts by
day, week or month, the replenishment list, and reports to download (console/pages/reports.py)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from console.access import User
from console.kpis import BY, TILES, BadRange, Range, charts
from console.pages.reports import reports_of
from console.services import ServiceFailed, Services
from console.web import CurrentServices, CurrentUser, render, require


async def tiles_of(services: Services, user: User, shown: Range) -> dict[str, Any]:
    try:
        now, before = await asyncio.gather(
            services.reporting.get(user.token, "/kpis", **shown.params()),
            services.reporting.get(user.token, "/kpis", **shown.before().params()),
        )
    except ServiceFailed as failed:
        return {"tiles": None, "problem": str(failed)}
    tiles = [(tile, tile.value(now), tile.trend(now, before)) for tile in TILES]
    return {"tiles": tiles, "period": (now.get("from"), now.get("to")), "days": shown.days}


async def charts_of(services: Services, user: User, shown: Range) -> dict[str, Any]:
    try:
        fulfillment, customers = await asyncio.gather(
            *(
                services.reporting.get(user.token, f"/kpis/{family}", by=shown.by, **shown.params())
                for family in ("fulfillment", "customers")
            )
        )
    except ServiceFailed as failed:
        return {"charts": None, "charts_problem": str(failed)}
    return {"charts": charts(fulfillment, customers)}


async def replenishment_of(services: Services, user: User) -> dict[str, Any]:
    try:
        return {"replenishment": await services.reporting.get(user.token, "/replenishment")}
    except ServiceFailed as failed:
        return {"replenishment": None, "replenishment_problem": str(failed)}


def manager_router() -> APIRouter:
    router = APIRouter()

    @router.get("/manager", response_class=HTMLResponse)
    async def manager(
        request: Request,
        user: CurrentUser,
        services: CurrentServices,
        start: Annotated[str, Query(alias="from", max_length=10)] = "",
        end: Annotated[str, Query(alias="to", max_length=10)] = "",
        by: Annotated[str, Query(max_length=5)] = "day",
    ) -> HTMLResponse:
        require(user, "manager")
        form = {"start": start, "end": end, "by": by, "choices": BY}
        try:
            shown = Range.of(start.strip(), end.strip(), by)
        except BadRange as bad:
            return render(request, "manager.html", 422, problem=str(bad), form=form, shown=None)
        parts = await asyncio.gather(
            tiles_of(services, user, shown), charts_of(services, user, shown), replenishment_of(services, user)
        )
        merged = {key: value for part in parts for key, value in part.items()}
        merged |= await reports_of(services, user)
        return render(request, "manager.html", form=form, shown=shown, **merged)

    @router.get("/manager/tiles", response_class=HTMLResponse)
    async def manager_tiles(
        request: Request,
        user: CurrentUser,
        services: CurrentServices,
        start: Annotated[str, Query(alias="from", max_length=10)] = "",
        end: Annotated[str, Query(alias="to", max_length=10)] = "",
    ) -> HTMLResponse:
        try:
            shown = Range.of(start.strip(), end.strip(), "day")
        except BadRange as bad:
            return render(request, "tiles.html", 422, tiles=None, problem=str(bad))
        return render(request, "tiles.html", **await tiles_of(services, user, shown))

    return router
