"""What access control costs per HTTP request, in one process, with and without it.

Two routes of one FastAPI app answer the same small document; one declares `requires("orders:read")` (the
bearer token verified: HS256 signature, issuer, audience, expiry, scopes), the other does not. Both go through
the request limits middleware every service has. Requests are made in-process (httpx's ASGI transport), in
alternating rounds so that machine noise hits both alike; the figure is the extra time per request.

    uv run python -m benchmarks.auth_cost [--requests 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import httpx
from fastapi import FastAPI

from cli.tokens import bearer
from shared.http.auth import install_access_control, requires
from shared.settings import ServiceSettings


def app() -> FastAPI:
    api = FastAPI()
    install_access_control(api, ServiceSettings(), max_body_bytes=1_048_576)
    body = {"order_id": "SO-1", "status": "shipped", "lines": [{"sku": "A", "quantity": 1}]}

    @api.get("/open")
    async def open_route() -> dict[str, Any]:
        return body

    @api.get("/guarded", dependencies=[requires("orders:read")])
    async def guarded_route() -> dict[str, Any]:
        return body

    return api


async def round_trip_us(client: httpx.AsyncClient, path: str, requests: int, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, response.text
    return (time.perf_counter() - started) / requests * 1e6


async def main(requests: int, rounds: int) -> None:
    headers = bearer("support_agent")
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        await round_trip_us(client, "/guarded", 200, headers)  # warm up both paths
        await round_trip_us(client, "/open", 200, headers)
        opened, guarded = [], []
        for _ in range(rounds):
            opened.append(await round_trip_us(client, "/open", requests // rounds, headers))
            guarded.append(await round_trip_us(client, "/guarded", requests // rounds, headers))
    base, checked = statistics.median(opened), statistics.median(guarded)
    print(f"auth_cost: {requests} requests each, {rounds} alternating rounds, in-process (ASGI), medians")
    print(f"  without a token check  {base:8.1f} µs/request")
    print(f"  with the token checked {checked:8.1f} µs/request")
    print(f"  access control costs   {checked - base:8.1f} µs/request ({checked / base:.2f}x the unguarded route)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
