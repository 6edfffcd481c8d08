"""Who may do what, against the four services running as processes (issue 11, items 1, 2 and 7).

Every finding it covers was reproduced before: anonymous cancellations recorded as `agent:anyone`, a `text/plain`
warehouse scan from any origin, a 10 MB body echoed back, rebuilds anyone could repeat at once.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from cli.tokens import DEV_SECRET, bearer, mint
from tests.actors import Outside
from tests.factories import new_id, order_placed
from tests.integration.conftest import Infrastructure
from tests.integration.test_service_lifecycle import run_briefly
from tests.processes import SERVICE_MODULES
from tests.stack import RunningStack, eventually, free_port
from tests.support_desk import call, entries, history_shows

OPEN = {"/health", "/ready", "/metrics"}


async def openapi(stack: RunningStack, service: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.url(service), timeout=10) as client:
        answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()]


@pytest.mark.parametrize("service", list(SERVICE_MODULES))
async def test_every_endpoint_but_health_ready_and_metrics_needs_a_token(stack: RunningStack, service: str) -> None:
    document = await openapi(stack, service)
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": document["components"]["securitySchemes"]["bearer"]["description"],
    }
    protected = [(path, method, op) for path, method, op in operations(document) if path not in OPEN]
    assert protected, f"{service} has no routes besides {OPEN}?"
    async with httpx.AsyncClient(base_url=stack.url(service), timeout=10) as anonymous:
        for path, method, op in protected:
            # OpenAPI documents each operation's scopes.
            ((scheme, scopes),) = (requirement for entry in op["security"] for requirement in entry.items())
            assert scheme == "bearer" and scopes, f"{method.upper()} {path} lists no scope"
            concrete = re.sub(r"\{[^}]+\}", "X-1", path)
            answer = await anonymous.request(method.upper(), concrete, json={} if method == "post" else None)
            assert answer.status_code == 401, f"{method.upper()} {concrete}: {answer.status_code} {answer.text}"
            assert answer.headers["www-authenticate"] == "Bearer"
        for path in (*OPEN, "/docs", "/openapi.json"):
            assert (await anonymous.get(path)).status_code == 200, path


async def test_a_token_that_does_not_verify_is_a_401_saying_why(stack: RunningStack) -> None:
    now = int(time.time())
    claims = {"sub": "mallory", "iss": "fulfillment-dev", "aud": "fulfillment", "roles": ["admin"], "exp": now + 60}
    forged = jwt.encode(claims, "a-secret-the-services-do-not-know-at-all", algorithm="HS256")
    expired = jwt.encode(claims | {"exp": now - 3600}, DEV_SECRET, algorithm="HS256")
    for token, reason in ((forged, "signature"), (expired, "expired"), ("garbage", "not a JWT")):
        async with httpx.AsyncClient(base_url=stack.url("orders"), timeout=10) as client:
            answer = await client.get("/orders/SO-1", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401 and reason in answer.json()["detail"], answer.text
        assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_the_wrong_role_is_a_403_naming_the_missing_scope_and_the_right_one_passes(
    outside: Outside, stack: RunningStack
) -> None:
    order_id = new_id("SO")
    await outside.place(order_placed(order_id, [(new_id("SKU"), 1, "5.00")]))  # no stock: backordered
    await history_shows(stack, order_id, lambda h: h["status"] == "backordered", "backordered")

    as_logistics = await call(stack, "POST", f"/orders/{order_id}/cancellation", {"reason": "x"}, as_role="logistics")
    assert as_logistics.status_code == 403 and "cancellations:request" in as_logistics.json()["detail"]
    as_manager = await call(stack, "POST", f"/orders/{order_id}/cancellation", {"reason": "x"}, as_role="manager")
    assert as_manager.status_code == 403  # reads everything, changes nothing
    async with httpx.AsyncClient(base_url=stack.url("shipping"), timeout=10) as shipping:
        scan = {"event_id": new_id("E"), "type": "ShipmentPicked", "occurred_at": "2026-11-28T10:15:00Z", "data": {}}
        as_support = await shipping.post("/warehouse/events", json=scan, headers=bearer("support_agent"))
        assert as_support.status_code == 403 and "warehouse:write" in as_support.json()["detail"]
        as_warehouse_system = await shipping.post(
            "/warehouse/events", json=scan, headers=_machine_client("wh-lis", "warehouse:write")
        )
        assert as_warehouse_system.status_code == 422  # past the door: now the scan itself is checked
        listed = await shipping.get("/shipments", params={"order_id": order_id}, headers=bearer("logistics"))
        assert listed.status_code == 200
        queue = await shipping.get("/warehouses/LIS-1/queue", headers=bearer("support_agent"))
        assert queue.status_code == 403 and "queues:read" in queue.json()["detail"]

    assert (await call(stack, "GET", f"/orders/{order_id}/history")).status_code == 200
    assert (await call(stack, "GET", f"/orders/{order_id}/history", as_role="logistics")).status_code == 403
    assert (await stack.get("orders", f"/orders/{order_id}", as_role="support_agent")).status_code == 200
    assert (await stack.get("inventory", "/stock/NO-SUCH-SKU", as_role="support_agent")).status_code == 403


def _machine_client(subject: str, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(subject=subject, scopes=scopes)}"}


async def test_the_timeline_shows_the_tokens_subject_as_the_actor_never_the_body(
    outside: Outside, stack: RunningStack
) -> None:
    order_id = new_id("SO")
    await outside.place(order_placed(order_id, [(new_id("SKU"), 1, "5.00")]))
    await history_shows(stack, order_id, lambda h: h["status"] == "backordered", "backordered")

    impersonating = await call(
        stack, "POST", f"/orders/{order_id}/cancellation", {"reason": "x", "agent_id": "anyone"}, subject="ana"
    )
    assert impersonating.status_code == 422 and "agent_id" in impersonating.text
    opened = await call(
        stack,
        "POST",
        f"/orders/{order_id}/cases",
        {"category": "other", "summary": "wants it cancelled"},
        subject="ana",
    )
    assert opened.status_code == 201 and opened.json()["opened_by"] == "ana"
    cancelled = await call(stack, "POST", f"/orders/{order_id}/cancellation", {"reason": "dup"}, subject="ana")
    assert cancelled.status_code == 202 and cancelled.json()["agent_id"] == "ana"

    found = await history_shows(stack, order_id, lambda h: h["status"] == "cancelled", "cancelled")
    assert "opened by ana" in entries(found, "CaseOpened")[0]["summary"]
    assert "Agent ana requested cancellation" in entries(found, "CancellationRequestedByAgent")[0]["summary"]
    assert found["cancellation"]["requested_by"] == "agent:ana"
    assert "anyone" not in str(found)


async def test_a_body_over_a_megabyte_is_a_413_that_echoes_nothing(stack: RunningStack) -> None:
    huge = b'{"reason": "' + b"A" * 2_000_000 + b'"}'
    declared = await call_raw(stack, huge)
    assert declared.status_code == 413 and len(declared.content) < 200 and b"AAAA" not in declared.content

    async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: chunked, cut off once past the cap
        for start in range(0, len(huge), 65_536):
            yield huge[start : start + 65_536]

    chunked = await call_raw(stack, streamed())
    assert chunked.status_code == 413 and b"AAAA" not in chunked.content
    # A 422 names the field and does not send the input back either.
    invalid = await call_raw(stack, b'{"reason": "' + b"B" * 500_000 + b'", "extra": 1}')
    assert invalid.status_code == 422 and b"BBBB" not in invalid.content and len(invalid.content) < 2_000


async def call_raw(stack: RunningStack, content: Any, content_type: str = "application/json") -> httpx.Response:
    headers = bearer("support_agent") | {"content-type": content_type}
    async with httpx.AsyncClient(base_url=stack.url("customer_service"), timeout=30) as client:
        return await client.post("/orders/SO-NOPE-1/cancellation", content=content, headers=headers)


async def test_a_post_that_is_not_json_is_a_415_whatever_its_origin(stack: RunningStack) -> None:
    async with httpx.AsyncClient(base_url=stack.url("shipping"), timeout=10) as shipping:
        # What a web page can send cross-origin without a preflight.
        plain = await shipping.post(
            "/warehouse/events",
            content=b'{"type": "ShipmentPicked"}',
            headers=bearer("logistics") | {"content-type": "text/plain", "origin": "https://evil.example"},
        )
    assert plain.status_code == 415 and "application/json" in plain.json()["detail"]
    form = await call_raw(stack, b"reason=x", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415


async def test_rebuilds_are_for_admins_and_one_at_a_time(stack: RunningStack) -> None:
    assert (await call(stack, "POST", "/projections/rebuild", as_role="manager")).status_code == 403
    first = await call(stack, "POST", "/projections/rebuild", as_role="admin")
    assert first.status_code == 202, first.text
    rebuild_id = first.json()["rebuild_id"]
    # A rebuild holds its lease at least through its catch-up pass (GENERATION_TTL_S + 1 s after the switch).
    second = await call(stack, "POST", "/projections/rebuild", as_role="admin")
    assert second.status_code == 409 and rebuild_id in second.json()["detail"]

    async def progress() -> dict[str, Any]:
        answer = await call(stack, "GET", f"/projections/rebuild/{rebuild_id}", as_role="admin")
        return answer.json()  # type: ignore[no-any-return]

    done = await eventually(progress, lambda p: p["status"] != "running", within=120, what="rebuild finished")
    assert done["status"] == "done" and done["requested_by"] == "dev-admin"

    async def next_one() -> httpx.Response:
        return await call(stack, "POST", "/projections/rebuild", as_role="admin")

    # Once it is done, the lease is free again (its release follows the final report by one round trip).
    again = await eventually(next_one, lambda r: r.status_code == 202, within=10, what="a new rebuild accepted")
    again_id = again.json()["rebuild_id"]

    async def again_progress() -> dict[str, Any]:
        answer = await call(stack, "GET", f"/projections/rebuild/{again_id}", as_role="admin")
        return answer.json()  # type: ignore[no-any-return]

    await eventually(again_progress, lambda p: p["status"] == "done", within=120, what="second rebuild finished")


@pytest.mark.parametrize("service", ["orders", "customer_service"])
def test_the_dev_secret_is_refused_at_start_outside_the_dev_profile(
    service: str, infrastructure: Infrastructure
) -> None:
    result = run_briefly(
        service,
        {
            **infrastructure.env(),
            f"{service.upper()}_HTTP_PORT": str(free_port()),
            "AUTH_PROFILE": "prod",
            "AUTH_ISSUER": "https://id.example.com/",
        },
    )
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == 1
    assert len(lines) == 1 and "AUTH_SECRET" in lines[0] and "AUTH_PROFILE=prod" in lines[0], lines


@pytest.mark.parametrize(
    ("service", "switch"),
    [("customer_service", "UNSAFE_DISABLE_HTTP_AUTH"), ("orders", "UNSAFE_DISABLE_PERSONAL_DATA_SEALING")],
)
def test_a_protection_switch_is_refused_at_start_outside_the_dev_profile(
    service: str, switch: str, infrastructure: Infrastructure
) -> None:
    result = run_briefly(
        service,
        {
            **infrastructure.env(),
            f"{service.upper()}_HTTP_PORT": str(free_port()),
            "AUTH_PROFILE": "prod",
            "AUTH_ISSUER": "https://id.example.com/",
            "AUTH_SECRET": "p" * 40,
            "PERSONAL_DATA_LOOKUP_KEY": "k" * 32,
            switch: "true",
        },
    )
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == 1
    assert len(lines) == 1 and lines[0].startswith(f"{service}: {switch}: refused with AUTH_PROFILE=prod"), lines
