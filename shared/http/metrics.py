"""`GET /metrics`: the service's OpenTelemetry metrics in Prometheus text format, for scraping.

The registry is the service's own (`Telemetry.registry`, filled by its `PrometheusMetricReader`): each process
and each in-process test runtime has one, so nothing global collides. Wire it in with
`app.include_router(metrics_router(runtime.telemetry.registry))`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def metrics_router(registry: CollectorRegistry) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get(
        "/metrics",
        summary="Metrics in Prometheus text format",
        response_class=Response,
        responses={200: {"content": {PROMETHEUS_TEXT: {}}, "description": "Prometheus text (or OpenMetrics)"}},
    )
    async def metrics(request: Request) -> Response:
        # The format the scraper asks for: Prometheus text 0.0.4 by default (understood by every Prometheus),
        # OpenMetrics when its Accept header prefers it.
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(registry), media_type=content_type)

    return router
