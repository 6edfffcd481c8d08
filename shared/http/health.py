"""`GET /health` (the process is up) and `GET /ready` (its Kafka and store connections work)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter
from fastapi.responses import JSONResponse

# A check returns None when fine, else a short reason a person can act on.
ReadinessCheck = Callable[[], Awaitable[str | None]]


def health_router(service: str, checks: Mapping[str, ReadinessCheck], timeout_s: float = 3.0) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health", summary="The process is up")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get(
        "/ready",
        summary="Kafka and the store answer",
        responses={503: {"description": "A dependency does not answer; `reasons` says which and why"}},
    )
    async def ready() -> JSONResponse:
        results = await asyncio.gather(*(_run(check, timeout_s) for check in checks.values()))
        reasons = {name: reason for name, reason in zip(checks, results, strict=True) if reason}
        if reasons:
            return JSONResponse({"status": "not ready", "service": service, "reasons": reasons}, status_code=503)
        return JSONResponse({"status": "ready", "service": service, "checks": list(checks)})

    return router


async def _run(check: ReadinessCheck, timeout_s: float) -> str | None:
    try:
        return await asyncio.wait_for(check(), timeout_s)
    except TimeoutError:
        return f"no answer within {timeout_s:.0f}s"
    except Exception as error:
        return f"{type(error).__name__}: {error}"
