"""HTTP API of reporting for the e-commerce manager: KPIs (with drill-down), replenishment, read-model rebuilds."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from services.reporting.domain.periods import By
from services.reporting.domain.rules import iso
from services.reporting.projections.queries import Family, KpiQueries
from services.reporting.projections.rebuild import RebuildRunner
from shared.http.auth import requires

MAX_RANGE_DAYS = 3 * 366
DEFAULT_RANGE_DAYS = 30

From = Annotated[
    date | None, Query(alias="from", description="First UTC day (YYYY-MM-DD); default 29 days before `to`")
]
To = Annotated[date | None, Query(alias="to", description="Last UTC day, included (YYYY-MM-DD); default today")]
Generation = Annotated[str | None, Query(pattern=r"^g[0-9]{1,6}$", description="A rebuilt generation; default active")]
AsOf = Annotated[
    str | None,
    Query(
        description="The figures as known at this instant (RFC 3339 with an offset or Z, e.g. 2026-11-05T18:00:00Z): "
        "only events that occurred by then count; `to` defaults to its UTC day"
    ),
]
Cursor = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\|[A-Za-z0-9._-]{1,64}$",
        description="With explain: the `next_cursor` of the previous page",
    ),
]


def as_of_time(value: str | None) -> str | None:
    """`as_of` as the read model writes times (fixed-width UTC), or a 422 naming the field."""
    if value is None:
        return None
    # A `+` left unescaped in a query string arrives as a space: `…T10:00:00 01:00` meant `+01:00`.
    text = re.sub(r" ([0-9]{2}:?[0-9]{2})$", r"+\1", value.strip())
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(
            status_code=422, detail=f"as_of: {value!r} is not an RFC 3339 time (e.g. 2026-11-05T18:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        raise HTTPException(status_code=422, detail=f"as_of: {value!r} has no offset (add Z or e.g. +01:00)")
    try:
        return iso(moment)
    except OverflowError:
        raise HTTPException(status_code=422, detail=f"as_of: {value!r} is outside years 1 to 9999 in UTC") from None


def date_range(start: date | None, end: date | None, as_of: str | None = None) -> tuple[date, date]:
    last = end or (date.fromisoformat(as_of[:10]) if as_of else datetime.now(UTC).date())
    first = start or last - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if first > last:
        raise HTTPException(status_code=400, detail=f"from: {first} is after to: {last}")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise HTTPException(status_code=400, detail=f"from: the range may span at most {MAX_RANGE_DAYS} days")
    return first, last


def reporting_router(queries: KpiQueries, rebuilds: RebuildRunner) -> APIRouter:
    router = APIRouter(tags=["reporting"])
    kpis_read = [requires("kpis:read")]

    @router.get("/kpis", summary="The totals of every KPI family over a date range", dependencies=kpis_read)
    async def all_kpis(
        start: From = None, end: To = None, generation: Generation = None, as_of: AsOf = None
    ) -> dict[str, Any]:
        moment = as_of_time(as_of)
        first, last = date_range(start, end, moment)
        families: list[Family] = ["fulfillment", "inventory", "returns", "customers", "support"]
        result: dict[str, Any] = {"from": first.isoformat(), "to": last.isoformat()}
        if moment is not None:
            result["as_of"] = moment
        for family in families:
            result[family] = (await queries.kpis(family, first, last, generation=generation, as_of=moment))["total"]
        return result

    @router.get(
        "/kpis/{family}",
        summary="One KPI family over a date range, by day, week or month, with the orders behind it",
        dependencies=kpis_read,
    )
    async def family_kpis(
        family: Family,
        start: From = None,
        end: To = None,
        by: Annotated[By | None, Query(description="Split the range into days, ISO weeks or months")] = None,
        explain: Annotated[bool, Query(description="List the orders that make up the figures")] = False,
        limit: Annotated[
            int, Query(ge=1, le=5_000, description="With explain: at most this many rows (order and day) a page")
        ] = 100,
        cursor: Cursor = None,
        generation: Generation = None,
        as_of: AsOf = None,
    ) -> dict[str, Any]:
        moment = as_of_time(as_of)
        first, last = date_range(start, end, moment)
        return await queries.kpis(family, first, last, by, explain, limit, generation, moment, cursor)

    @router.get(
        "/replenishment",
        summary="Reorder points per sku and warehouse, what to order now, sorted by days of supply",
        dependencies=kpis_read,
    )
    async def get_replenishment(
        as_of: Annotated[date | None, Query(description="The last day of the demand window; default today")] = None,
        generation: Generation = None,
    ) -> dict[str, Any]:
        return await queries.replenishment(generation, as_of)

    @router.post(
        "/rebuild",
        status_code=202,
        summary="Rebuild the read model from the topics into a new generation (the live one is not touched)",
        dependencies=[requires("projections:rebuild")],
    )
    async def start_rebuild() -> dict[str, Any]:
        running = rebuilds.running()
        if running is not None:
            raise HTTPException(status_code=409, detail=f"rebuild {running['rebuild_id']} is still running")
        return await rebuilds.start()

    @router.get("/rebuild/{rebuild_id}", summary="Progress of a rebuild", dependencies=[requires("projections:read")])
    async def rebuild_status(rebuild_id: str) -> dict[str, Any]:
        found = await rebuilds.status(rebuild_id)
        if found is None:
            raise HTTPException(status_code=404, detail=f"unknown rebuild {rebuild_id!r}")
        return found

    return router
