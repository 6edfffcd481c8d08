"""HTTP API of customer_service, read side: order history (also as of a moment), search, customers, rebuilds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from services.customer_service.projections.as_of import history_as_of
from services.customer_service.projections.history import is_known
from services.customer_service.projections.lease import RebuildRunning
from services.customer_service.projections.rebuild import RebuildRunner
from services.customer_service.projections.search import OrderSearch, customer_view, search_orders
from services.customer_service.projections.store import ProjectionStore
from services.customer_service.projections.views import history_view
from shared.contracts.envelope import OrderId
from shared.contracts.orders import OrderStatus
from shared.http.auth import requires
from shared.http.tokens import Principal
from shared.personal_data.fields import ADDRESS_FIELDS, CUSTOMER_FIELDS, redacted, sees_personal_data
from shared.telemetry.trace_context import OrderTraces, trace_id_of

# Names, emails and addresses only for readers with `personal_data:read` (agents; a manager sees `[redacted]`).
OrderReader = Annotated[Principal, requires("orders:read")]
SUMMARY_FIELDS = ("email", "customer_name")


def _history_shown(view: dict[str, Any], reader: Principal) -> dict[str, Any]:
    if sees_personal_data(reader.scopes):
        return view
    return {
        **view,
        "customer": redacted(view["customer"], CUSTOMER_FIELDS),
        "shipping_address": redacted(view["shipping_address"], ADDRESS_FIELDS),
    }


def _summaries_shown(summaries: list[dict[str, Any]], reader: Principal) -> list[dict[str, Any]]:
    if sees_personal_data(reader.scopes):
        return summaries
    return [redacted(summary, SUMMARY_FIELDS) or {} for summary in summaries]


Moment = Annotated[datetime | None, Query(description="RFC 3339 with offset or Z, e.g. 2026-11-28T10:15:00Z")]


def moment(name: str, value: datetime | None) -> str | None:
    """`value` in the projections' time format (fixed-width UTC, so string order is time order)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise HTTPException(status_code=400, detail=f"{name}: needs a UTC offset or Z (RFC 3339), got {value}")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise HTTPException(
            status_code=400, detail=f"{name}: {value.isoformat()} is out of range (years 1 to 9999 in UTC)"
        ) from None
    # isoformat pads the year to four digits; strftime("%Y") does not (year 999 gives "999-..."), and an
    # unpadded year sorts after every real date ("999-" > "2026"): as_of=0999-01-01 showed today's state.
    return utc.isoformat(timespec="microseconds").replace("+00:00", "Z")


def customer_service_router(store: ProjectionStore, rebuilds: RebuildRunner, traces: OrderTraces) -> APIRouter:
    router = APIRouter(tags=["customer_service"])

    @router.get(
        "/orders/{order_id}/history",
        summary="An order's status, lines, shipments, returns and timeline",
        dependencies=[requires("orders:read")],
    )
    async def get_history(order_id: str, reader: OrderReader, as_of: Moment = None) -> dict[str, Any]:
        at = moment("as_of", as_of)
        if as_of is not None and at is not None:
            if as_of > datetime.now(UTC):
                raise HTTPException(status_code=400, detail=f"as_of: {at} is in the future")
            past = await history_as_of(store, order_id, as_of)
            if past is None:
                raise HTTPException(status_code=404, detail=f"order {order_id!r} did not exist at {at}")
            return _history_shown(history_view(past, as_of=at), reader) | await _trace(order_id)
        history = await store.history(order_id)
        if not is_known(history):
            raise HTTPException(status_code=404, detail=f"unknown order {order_id!r}")
        assert history is not None
        return _history_shown(history_view(history), reader) | await _trace(order_id)

    async def _trace(order_id: str) -> dict[str, str | None]:
        """The order's trace, to look up every service's spans of it in the tracing backend."""
        return {"trace_id": trace_id_of(await traces.lookup(order_id))}

    @router.get(
        "/orders",
        summary="Search orders by id, customer, email, tracking number, sku, status, dates",
        dependencies=[requires("orders:read")],
    )
    async def find_orders(
        reader: OrderReader,
        order_id: Annotated[OrderId | None, Query()] = None,
        customer_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
        email: Annotated[str | None, Query(min_length=3, max_length=320)] = None,
        tracking_number: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
        sku: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
        status: Annotated[OrderStatus | None, Query()] = None,
        placed_from: Moment = None,
        placed_to: Moment = None,
        page: Annotated[int, Query(ge=1, le=10_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> dict[str, Any]:
        search = OrderSearch(
            order_id=order_id,
            customer_id=customer_id,
            email=email,
            tracking_number=tracking_number,
            sku=sku,
            status=status,
            placed_from=moment("placed_from", placed_from),
            placed_to=moment("placed_to", placed_to),
            page=page,
            page_size=page_size,
        )
        if search.placed_from and search.placed_to and search.placed_from > search.placed_to:
            raise HTTPException(status_code=400, detail="placed_from: must not be after placed_to")
        found = await search_orders(store, search)
        return {**found, "orders": _summaries_shown(found["orders"], reader)}

    @router.get(
        "/customers/{customer_id}",
        summary="A customer's orders and lifetime totals",
        dependencies=[requires("customers:read")],
    )
    async def get_customer(
        customer_id: str, reader: Annotated[Principal, requires("customers:read")]
    ) -> dict[str, Any]:
        found = await customer_view(store, customer_id)
        if found is None:
            raise HTTPException(status_code=404, detail=f"unknown customer {customer_id!r}")
        if sees_personal_data(reader.scopes):
            return found
        return {
            **(redacted(found, ("email", "name")) or {}),
            "orders": _summaries_shown(found["orders"], reader),
        }

    @router.post(
        "/projections/rebuild",
        status_code=202,
        summary="Rebuild the read models from the received log (one at a time, across replicas)",
        responses={409: {"description": "A rebuild is already running"}},
    )
    async def start_rebuild(admin: Annotated[Principal, requires("projections:rebuild")]) -> dict[str, Any]:
        try:
            progress = await rebuilds.start(requested_by=admin.subject)
        except RebuildRunning as running:
            raise HTTPException(status_code=409, detail=str(running)) from None
        return {"rebuild_id": progress.rebuild_id, "status": progress.status}

    @router.get(
        "/projections/rebuild/{rebuild_id}",
        summary="Progress of a rebuild",
        dependencies=[requires("projections:read")],
    )
    async def rebuild_status(rebuild_id: str) -> dict[str, Any]:
        found = await rebuilds.status(rebuild_id)
        if found is None:
            raise HTTPException(status_code=404, detail=f"unknown rebuild {rebuild_id!r}")
        return {key: value for key, value in found.items() if key != "_id"}

    return router
