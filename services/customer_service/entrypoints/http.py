"""HTTP API of the customer_service service: translates requests into application calls."""

from __future__ import annotations

from fastapi import APIRouter


def customer_service_router() -> APIRouter:
    return APIRouter(tags=["customer_service"])
