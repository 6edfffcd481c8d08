"""The services' HTTP APIs as the console calls them: the user's token on every call, failures in words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


class ServiceFailed(Exception):
    """A service refused or did not answer; `str()` is the sentence the page shows, `status` what to answer."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Service:
    name: str
    base_url: str
    timeout_s: float

    async def get(self, token: str, path: str, **params: Any) -> Any:
        query = {key: value for key, value in params.items() if value not in (None, "")}
        return await self._call(token, "GET", path, params=query)

    async def post(self, token: str, path: str, body: dict[str, Any], once: str | None = None) -> Any:
        """`once`: an idempotency key, so the same form sent twice (a double click) acts once."""
        return await self._call(token, "POST", path, json=body, headers={"Idempotency-Key": once} if once else None)

    async def download(self, token: str, path: str, **params: Any) -> tuple[bytes, str]:
        """A document that is not JSON (a report as CSV, HTML or PDF): its bytes and media type."""
        response = await self._send(token, "GET", path, params=params)
        return response.content, response.headers.get("content-type", "application/octet-stream")

    async def _call(self, token: str, method: str, path: str, **options: Any) -> Any:
        response = await self._send(token, method, path, **options)
        try:
            return response.json()
        except ValueError:
            raise ServiceFailed(f"{self.name} answered with something that is not JSON", 502) from None

    async def _send(
        self, token: str, method: str, path: str, headers: dict[str, str] | None = None, **options: Any
    ) -> httpx.Response:
        headers = {**(headers or {}), "Authorization": f"Bearer {token}"}
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout_s, headers=headers) as client:
                response = await client.request(method, path, **options)
        except httpx.TimeoutException:
            raise ServiceFailed(f"{self.name} did not answer within {self.timeout_s:.0f} s; try again", 504) from None
        except httpx.TransportError:
            raise ServiceFailed(f"{self.name} does not answer at {self.base_url}; is it running?", 502) from None
        if response.status_code == 401:
            raise ServiceFailed(f"{self.name} did not accept your sign-in ({detail_of(response)}); sign in again", 401)
        if response.status_code == 403:
            raise ServiceFailed(f"{self.name} refused: your role may not do this ({detail_of(response)})", 403)
        if response.status_code >= 400:
            raise ServiceFailed(f"{self.name} refused: {detail_of(response)}", response.status_code)
        return response


def detail_of(response: httpx.Response) -> str:
    """FastAPI's `{"detail": "..."}`, or its validation list as `field: problem; ...`, as words."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(detail, list):
        parts = []
        for problem in detail:
            if isinstance(problem, dict):
                where = ".".join(str(p) for p in problem.get("loc", []) if p != "body")
                parts.append(f"{where}: {problem.get('msg', 'invalid')}" if where else str(problem.get("msg")))
        return "; ".join(parts) or f"HTTP {response.status_code}"
    return str(detail) if detail else f"HTTP {response.status_code}"


@dataclass(frozen=True)
class Services:
    customer_service: Service
    shipping: Service
    reporting: Service
