"""HTTP API of the inventory service: translates requests into application calls."""

from __future__ import annotations

from fastapi import APIRouter


def inventory_router() -> APIRouter:
    return APIRouter(tags=["inventory"])
