"""The logistics team's page: a warehouse's queue (to pick, to pack, to dispatch) with the scan for each step,
sent to shipping's `POST /warehouse/events` as the warehouse system would."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console.services import ServiceFailed, Services
from console.web import CurrentServices, CurrentUser, is_htmx, render, require

WAREHOUSE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
# The queue a shipment waits in → the scan that moves it on.
STEPS = {"pick": "ShipmentPicked", "pack": "ShipmentPacked", "dispatch": "ShipmentDispatched"}
DONE = {"ShipmentPicked": "picked", "ShipmentPacked": "packed", "ShipmentDispatched": "dispatched"}


async def queue_of(services: Services, token: str, warehouse: str) -> tuple[dict[str, Any] | None, str | None]:
    if not WAREHOUSE.match(warehouse):
        return None, "A warehouse code is 1 to 32 letters, digits or . _ - (like LIS-1)."
    try:
        return await services.shipping.get(token, f"/warehouses/{warehouse}/queue"), None
    except ServiceFailed as failed:
        return None, str(failed)


def logistics_router() -> APIRouter:
    router = APIRouter()

    @router.get("/logistics", response_class=HTMLResponse)
    async def logistics(
        request: Request,
        user: CurrentUser,
        services: CurrentServices,
        warehouse: Annotated[str, Query(max_length=64)] = "",
    ) -> HTMLResponse:
        require(user, "logistics")
        warehouse = warehouse.strip()
        queue, problem = await queue_of(services, user.token, warehouse) if warehouse else (None, None)
        return render(request, "logistics.html", warehouse=warehouse, queue=queue, queue_problem=problem)

    @router.get("/logistics/{warehouse}/queue", response_class=HTMLResponse)
    async def queue(request: Request, warehouse: str, user: CurrentUser, services: CurrentServices) -> HTMLResponse:
        found, problem = await queue_of(services, user.token, warehouse)
        return render(request, "queue.html", warehouse=warehouse, queue=found, queue_problem=problem)

    @router.post("/logistics/{warehouse}/scans", response_model=None)
    async def scan(
        request: Request,
        warehouse: str,
        user: CurrentUser,
        services: CurrentServices,
        step: Annotated[str, Form()] = "",
        shipment_id: Annotated[str, Form(max_length=64)] = "",
        carrier: Annotated[str, Form(max_length=64)] = "",
        tracking_number: Annotated[str, Form(max_length=64)] = "",
    ) -> Response:
        status, outcome, problem = 202, None, None
        data: dict[str, str] = {"shipment_id": shipment_id}
        if step not in STEPS or not shipment_id:
            status, problem = 422, "Choose a shipment and a step (pick, pack or dispatch)."
        elif step == "dispatch" and not (carrier.strip() and tracking_number.strip()):
            status, problem = 422, f"Dispatching {shipment_id} needs the carrier and the tracking number."
        else:
            if step == "dispatch":
                data |= {"carrier": carrier.strip(), "tracking_number": tracking_number.strip()}
            scan = {
                "event_id": str(uuid.uuid4()),
                "type": STEPS[step],
                "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "data": data,
            }
            try:
                await services.shipping.post(user.token, "/warehouse/events", scan)
                outcome = f"{shipment_id} {DONE[STEPS[step]]}."
            except ServiceFailed as failed:
                status, problem = failed.status, str(failed)
        if not is_htmx(request):  # a browser without JavaScript: back to the queue page
            return RedirectResponse(f"/logistics?warehouse={quote(warehouse)}", status_code=303)
        found, queue_problem = await queue_of(services, user.token, warehouse)
        return render(
            request,
            "scan_result.html",
            status,
            warehouse=warehouse,
            queue=found,
            queue_problem=queue_problem,
            problem=problem,
            outcome=outcome,
            done=shipment_id if outcome else None,
        )

    return router
