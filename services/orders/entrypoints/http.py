"""HTTP API of the orders service: translates requests into application calls."""

from __future__ import annotations

from fastapi import APIRouter


def orders_router() -> APIRouter:
    return APIRouter(tags=["orders"])
