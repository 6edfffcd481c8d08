"""The manager's page: KPI tiles over the last 30 days from the reporting service, asked again every few seconds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from console.services import ServiceFailed
from console.web import CurrentServices, CurrentUser, render, require


def _percent(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f} %"


def _money(value: Any) -> str:
    return "—" if value is None else f"{float(value):,.2f}"


def _plain(value: Any) -> str:
    return "—" if value is None else str(value)


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    family: str
    figure: str
    shown: Callable[[Any], str]

    def value(self, kpis: dict[str, Any]) -> str:
        return self.shown((kpis.get(self.family) or {}).get(self.figure))


TILES = (
    Tile("orders", "Orders", "fulfillment", "orders", _plain),
    Tile("net_revenue", "Net revenue", "customers", "net_revenue", _money),
    Tile("aov", "Average order value", "customers", "aov", _money),
    Tile("fill_rate", "Fill rate", "fulfillment", "fill_rate", _percent),
    Tile("on_time_ship_rate", "Shipped on time", "fulfillment", "on_time_ship_rate", _percent),
    Tile("cancellation_rate", "Cancelled", "fulfillment", "cancellation_rate", _percent),
    Tile("return_rate", "Return rate", "returns", "return_rate", _percent),
    Tile("open_cases", "Open cases", "support", "open_cases", _plain),
)


def manager_router() -> APIRouter:
    router = APIRouter()

    async def tiles(request: Request, template: str, user: Any, services: Any) -> HTMLResponse:
        try:
            kpis = await services.reporting.get(user.token, "/kpis")
        except ServiceFailed as failed:
            return render(request, template, tiles=None, problem=str(failed))
        shown = [(tile, tile.value(kpis)) for tile in TILES]
        return render(request, template, tiles=shown, period=(kpis.get("from"), kpis.get("to")))

    @router.get("/manager", response_class=HTMLResponse)
    async def manager(request: Request, user: CurrentUser, services: CurrentServices) -> HTMLResponse:
        require(user, "manager")
        return await tiles(request, "manager.html", user, services)

    @router.get("/manager/tiles", response_class=HTMLResponse)
    async def manager_tiles(request: Request, user: CurrentUser, services: CurrentServices) -> HTMLResponse:
        return await tiles(request, "tiles.html", user, services)

    return router
