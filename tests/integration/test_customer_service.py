"""customer_service end to end: the four services as processes; the history, search, point in time, rebuild,
support cases and agents' requests, driven through the outside world and customer_service's HTTP API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient

from services.customer_service.projections.store import collection_name
from tests.actors import Outside
from tests.factories import new_id, order_placed
from tests.flow import deliver_all, dispatch, order_reaches, shipments_created, stock_ready
from tests.integration.conftest import Infrastructure
from tests.stack import RunningStack, eventually
from tests.support_desk import call, entries, has_entry, history, history_shows


def without_ciphertexts(document: Any) -> Any:
    if isinstance(document, dict):
        return {k: ("…" if k == "c" else without_ciphertexts(v)) for k, v in document.items()}
    return [without_ciphertexts(v) for v in document] if isinstance(document, list) else document


ALL_SOURCES = {"storefront", "orders", "inventory", "warehouse", "shipping", "carrier", "customer_service"}


async def test_the_history_shows_every_service_in_time_order_after_a_return(
    outside: Outside, stack: RunningStack
) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 5)
    await outside.place(order_placed(order_id, [(sku, 2, "19.90")], customer_id=new_id("C")))
    await deliver_all(outside, stack, order_id)
    await outside.request_return(order_id, [(sku, 2)])
    await order_reaches(stack, order_id, "return_requested")
    await outside.return_received(order_id, [(sku, 1, "resellable"), (sku, 1, "damaged")])
    await order_reaches(stack, order_id, "refunded")
    opened = await call(
        stack, "POST", f"/orders/{order_id}/cases",
        {"category": "damaged_item", "summary": "one shirt arrived torn"}, subject="ag-1",
    )  # fmt: skip
    assert opened.status_code == 201, opened.text

    found = await history_shows(
        stack,
        order_id,
        lambda h: h["status"] == "refunded" and {e["source"] for e in h["timeline"]} == ALL_SOURCES,
        "entries from every source",
    )
    at = [entry["at"] for entry in found["timeline"]]
    assert at == sorted(at)
    assert found["customer"]["email"] == "ana@example.com"
    assert found["lines"][0] | {"unit_price": None} == {
        "sku": sku, "quantity": 2, "unit_price": None, "reserved": 2, "backordered": 0,
        "shipped": 2, "delivered": 2, "returned": 2,
    }  # fmt: skip
    (shipment,) = found["shipments"]
    assert shipment["status"] == "delivered" and shipment["tracking_number"]
    assert [r["status"] for r in found["returns"]] == ["refunded"] and found["refunded_total"] == "39.80"
    placed, accepted = found["timeline"][0], found["timeline"][1]
    assert (placed["source"], placed["type"], accepted["source"]) == ("storefront", "OrderPlaced", "orders")
    assert entries(found, "TrackingUpdated")[-1]["source"] == "carrier"

    customer = await call(stack, "GET", f"/customers/{found['customer']['id']}")
    assert customer.status_code == 200
    assert customer.json()["lifetime"]["orders"] == 1
    assert customer.json()["lifetime"]["totals"] == [
        {"currency": "EUR", "ordered": "39.80", "refunded": "39.80", "net": "0.00"}
    ]


async def test_as_of_between_dispatch_and_delivery_shows_shipped(outside: Outside, stack: RunningStack) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 2)
    before_the_order = datetime.now(UTC)
    await outside.place(order_placed(order_id, [(sku, 1, "5.00")]))
    (created,) = await shipments_created(stack, order_id)
    tracking = await dispatch(outside, stack, created["shipment_id"])
    await history_shows(stack, order_id, lambda h: h["status"] == "shipped", "shipped")
    between = datetime.now(UTC)
    await asyncio.sleep(0.2)
    await outside.track(tracking, "delivered")
    await history_shows(stack, order_id, lambda h: h["status"] == "delivered", "delivered")

    then = await call(stack, "GET", f"/orders/{order_id}/history", as_of=between.isoformat())
    assert then.status_code == 200, then.text
    assert then.json()["status"] == "shipped"
    assert then.json()["shipments"][0]["status"] == "dispatched"
    assert not entries(then.json(), "ShipmentDelivered")
    early = await call(stack, "GET", f"/orders/{order_id}/history", as_of=before_the_order.isoformat())
    assert early.status_code == 404 and "did not exist" in early.json()["detail"]


async def test_search_finds_an_order_by_tracking_number(outside: Outside, stack: RunningStack) -> None:
    sku, order_id, email = new_id("SKU"), new_id("SO"), f"{new_id('m').lower()}@example.com"
    await stock_ready(outside, stack, sku, "LIS-1", 2)
    await outside.place(order_placed(order_id, [(sku, 1, "5.00")], email=email))
    (created,) = await shipments_created(stack, order_id)
    tracking = await dispatch(outside, stack, created["shipment_id"])
    await history_shows(stack, order_id, lambda h: h["shipments"][0]["tracking_number"] == tracking, "tracking")

    async def search(**params: Any) -> list[str]:
        response = await call(stack, "GET", "/orders", **params)
        assert response.status_code == 200, response.text
        return [found["order_id"] for found in response.json()["orders"]]

    assert await eventually(lambda: search(tracking_number=tracking), lambda ids: ids == [order_id], what="search")
    assert await search(email=email.upper()) == [order_id]
    assert await search(sku=sku, email=email) == [order_id]
    assert await search(tracking_number=tracking, status="delivered") == []
    assert await search(tracking_number="TN-NOBODY") == []
    # The status comes from orders' own event, which may land in a later batch than shipping's tracking number.
    recent = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    await eventually(
        lambda: search(status="shipped", page_size=100, placed_from=recent),
        lambda ids: order_id in ids,
        what="search by status",
    )


async def test_a_case_with_notes_shows_on_the_timeline(outside: Outside, stack: RunningStack) -> None:
    order_id = new_id("SO")
    await outside.place(order_placed(order_id, [(new_id("SKU"), 1, "5.00")]))  # no stock: backordered
    await history_shows(stack, order_id, lambda h: h["status"] == "backordered", "backordered")

    opened = await call(
        stack, "POST", f"/orders/{order_id}/cases",
        {"category": "late_delivery", "summary": "customer asks when it ships"}, subject="ag-2",
    )  # fmt: skip
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["case_id"]
    noted = await call(stack, "POST", f"/cases/{case_id}/notes", {"note": "promised a call back"}, subject="ag-2")
    assert noted.status_code == 201
    assert (await call(stack, "POST", f"/cases/{case_id}/escalate", {"reason": "vip"}, subject="ag-2")).is_success
    resolved = await call(stack, "POST", f"/cases/{case_id}/resolve", {"outcome": "stock ETA given"}, subject="ag-3")
    assert resolved.json()["status"] == "resolved"
    late = await call(stack, "POST", f"/cases/{case_id}/notes", {"note": "one more thing"}, subject="ag-2")
    assert late.status_code == 409 and "resolved" in late.json()["detail"]

    found = await history_shows(stack, order_id, has_entry("CaseResolved", "customer_service"), "case resolved")
    assert [e["type"] for e in found["timeline"] if e["source"] == "customer_service"] == [
        "CaseOpened", "CaseNoteAdded", "CaseEscalated", "CaseResolved",
    ]  # fmt: skip
    assert "promised a call back" in entries(found, "CaseNoteAdded")[0]["summary"]
    case = (await call(stack, "GET", f"/cases/{case_id}")).json()
    assert [n["note"] for n in case["notes"]] == ["promised a call back"] and case["resolution"]["agent_id"] == "ag-3"
    listed = (await call(stack, "GET", f"/orders/{order_id}/cases")).json()
    assert [(c["case_id"], c["status"], c["notes"]) for c in listed] == [(case_id, "resolved", 1)]


async def test_an_agent_cancellation_after_dispatch_is_refused_and_shown_with_the_agent(
    outside: Outside, stack: RunningStack
) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 2)
    await outside.place(order_placed(order_id, [(sku, 1, "5.00")]))
    (created,) = await shipments_created(stack, order_id)
    await dispatch(outside, stack, created["shipment_id"])
    await history_shows(stack, order_id, lambda h: h["status"] == "shipped", "shipped")

    # The read model already knows: the agent hears at once, and nothing is requested.
    refused_here = await call(
        stack, "POST", f"/orders/{order_id}/cancellation", {"reason": "customer_changed_mind"}, subject="ag-7"
    )
    assert refused_here.status_code == 409 and "dispatched" in refused_here.json()["detail"]
    # An agent whose read model lagged: the request reaches orders (as the relay publishes it), which refuses.
    await outside.send(
        "customer_service.events.v1", order_id, "CancellationRequestedByAgent",
        {"order_id": order_id, "reason": "customer_changed_mind", "agent_id": "ag-7"},
    )  # fmt: skip
    found = await history_shows(stack, order_id, has_entry("OrderCancellationRefused"), "refusal")
    (refusal,) = entries(found, "OrderCancellationRefused")
    assert "agent:ag-7" in refusal["summary"] and "return" in refusal["summary"]
    assert found["cancellation_refusals"][0]["requested_by"] == "agent:ag-7"
    assert found["status"] == "shipped"


async def test_an_agent_cancellation_before_dispatch_cancels_the_order(outside: Outside, stack: RunningStack) -> None:
    order_id = new_id("SO")
    await outside.place(order_placed(order_id, [(new_id("SKU"), 1, "5.00")]))
    await history_shows(stack, order_id, lambda h: h["status"] == "backordered", "backordered")

    body = {"reason": "duplicate order"}
    requested = await call(stack, "POST", f"/orders/{order_id}/cancellation", body, subject="ag-8")
    assert requested.status_code == 202, requested.text
    found = await history_shows(stack, order_id, lambda h: h["status"] == "cancelled", "cancelled")
    assert found["cancellation"]["requested_by"] == "agent:ag-8"
    assert [e["source"] for e in entries(found, "CancellationRequestedByAgent")] == ["customer_service"]
    await order_reaches(stack, order_id, "cancelled")
    again = await call(stack, "POST", f"/orders/{order_id}/cancellation", body, subject="ag-8")
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
    not_delivered = await call(
        stack, "POST", f"/orders/{order_id}/returns",
        {"lines": [{"sku": found["lines"][0]["sku"], "quantity": 1}], "reason": "x"}, subject="ag-8",
    )  # fmt: skip
    assert not_delivered.status_code == 409 and "0 delivered" in not_delivered.json()["detail"]


async def test_a_rebuilt_projection_equals_the_live_one(
    outside: Outside, stack: RunningStack, infrastructure: Infrastructure
) -> None:
    sku, delivered_id, waiting_id = new_id("SKU"), new_id("SO"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 2)
    await outside.place(order_placed(delivered_id, [(sku, 1, "5.00")]))
    await outside.place(order_placed(waiting_id, [(new_id("SKU"), 1, "7.00")]))
    await deliver_all(outside, stack, delivered_id)
    await call(stack, "POST", f"/orders/{waiting_id}/cases", {"category": "other", "summary": "s"}, subject="ag-9")
    await history_shows(stack, delivered_id, lambda h: h["status"] == "delivered", "delivered")
    await history_shows(stack, waiting_id, has_entry("CaseOpened"), "case")
    await asyncio.sleep(1)  # let trailing events (status changes) land
    live = {order_id: await history(stack, order_id) for order_id in (delivered_id, waiting_id)}
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infrastructure.mongodb_url)
    database = client[infrastructure.database_prefix + "customer_service"]
    active = await database["projection_meta"].find_one({"_id": "active"})
    serving = "g0" if active is None else active["generation"]
    stored = {
        order_id: await database[collection_name(serving, "histories", order_id)].find_one({"_id": order_id})
        for order_id in live
    }

    started = await call(stack, "POST", "/projections/rebuild", as_role="admin")
    assert started.status_code == 202, started.text
    rebuild_id = started.json()["rebuild_id"]

    async def progress() -> dict[str, Any]:
        answer = await call(stack, "GET", f"/projections/rebuild/{rebuild_id}", as_role="admin")
        return answer.json()  # type: ignore[no-any-return]

    done = await eventually(progress, lambda p: p["status"] != "running", within=60, what="rebuild finished")
    assert done["status"] == "done" and done["processed"] == done["total"] > 0 and done["events_per_second"] > 0
    assert done["replaced"] == serving and done["requested_by"] == "dev-admin"
    try:
        for order_id in live:
            after = await database[collection_name(done["generation"], "histories", order_id)].find_one(
                {"_id": order_id}
            )
            # Equal but for the sealed personal fields' ciphertexts (a fresh nonce each); the key and fields match,
            # and the histories read back the same (below).
            assert after is not None and without_ciphertexts(after) == without_ciphertexts(stored[order_id])
            summary = database[collection_name(done["generation"], "summaries", order_id)]
            assert await summary.find_one({"_id": order_id}) is not None
        # The generation it replaced is gone: ten rebuilds no longer leave ten sets of collections behind.
        names = await database.list_collection_names()
        assert not [name for name in names if name.startswith(f"{serving}_")]
        assert any(name.startswith(f"{done['generation']}_histories_") for name in names)
    finally:
        await client.close()
    assert {order_id: await history(stack, order_id) for order_id in live} == live


async def test_bad_requests_get_a_4xx_naming_the_problem(stack: RunningStack) -> None:
    unknown = await call(stack, "GET", "/orders/SO-NOPE-1/history")
    assert unknown.status_code == 404 and unknown.json() == {"detail": "unknown order 'SO-NOPE-1'"}
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    too_late = await call(stack, "GET", "/orders/SO-NOPE-1/history", as_of=future)
    assert too_late.status_code == 400 and too_late.json()["detail"].startswith("as_of:")
    garbled = await call(stack, "GET", "/orders/SO-NOPE-1/history", as_of="yesterday")
    assert garbled.status_code == 422 and garbled.json()["detail"][0]["loc"] == ["query", "as_of"]
    malformed = await call(stack, "POST", "/orders/SO-NOPE-1/cancellation", {})
    assert malformed.status_code == 422 and malformed.json()["detail"][0]["loc"] == ["body", "reason"]
    bad_category = await call(stack, "POST", "/orders/SO-NOPE-1/cases", {"category": "angry", "summary": "s"})
    assert bad_category.status_code == 422 and bad_category.json()["detail"][0]["loc"] == ["body", "category"]
    assert (await call(stack, "POST", "/orders/SO-NOPE-1/cancellation", {"reason": "r"})).status_code == 404
    assert (await call(stack, "POST", "/cases/CASE-NOPE/notes", {"note": "n"})).status_code == 404
    assert (await call(stack, "GET", "/orders", status="lost")).status_code == 422
    assert (await call(stack, "GET", "/orders", page_size=0)).status_code == 422
    assert (await call(stack, "GET", "/customers/C-NOBODY")).status_code == 404
    assert (await call(stack, "GET", "/projections/rebuild/RB-NOPE", as_role="admin")).status_code == 404
