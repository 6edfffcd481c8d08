"""What a support agent does through customer_service's HTTP API, and waiting for its read model to show it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from cli.tokens import bearer
from tests.stack import RunningStack, eventually

# The test stacks' support targets: urgent cases miss their first response after two seconds (so a breach can be
# seen without waiting an hour), looked for twice a second; every other priority keeps its default.
TINY_URGENT_TARGET = {
    "SUPPORT_TARGETS": '{"urgent": {"first_response_s": 2, "resolution_s": 3600}}',
    "SUPPORT_TARGETS_CHECK_S": "0.5",
}


async def call(
    stack: RunningStack,
    method: str,
    path: str,
    body: Any = None,
    *,
    as_role: str = "support_agent",
    subject: str | None = None,
    **params: Any,
) -> httpx.Response:
    """A request of a person with `as_role` (subject `subject`, else dev-<role>), as customer_service sees it."""
    headers = bearer(as_role, subject)
    async with httpx.AsyncClient(base_url=stack.url("customer_service"), timeout=30, headers=headers) as client:
        return await client.request(method, path, json=body, params=params or None)


async def history(stack: RunningStack, order_id: str, **params: Any) -> dict[str, Any] | None:
    response = await call(stack, "GET", f"/orders/{order_id}/history", **params)
    return response.json() if response.status_code == 200 else None


async def history_shows(
    stack: RunningStack, order_id: str, until: Callable[[dict[str, Any]], bool], what: str, within: float = 60.0
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        return await history(stack, order_id)

    found = await eventually(probe, lambda h: h is not None and until(h), within=within, what=f"{order_id}: {what}")
    assert found is not None
    return found


def entries(found: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [entry for entry in found["timeline"] if entry["type"] == type_]


def has_entry(type_: str, source: str | None = None) -> Callable[[dict[str, Any]], bool]:
    return lambda h: any(e["type"] == type_ and (source is None or e["source"] == source) for e in h["timeline"])
