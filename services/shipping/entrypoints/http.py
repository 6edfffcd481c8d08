"""HTTP API of the shipping service: translates requests into application calls."""

from __future__ import annotations

from fastapi import APIRouter


def shipping_router() -> APIRouter:
    return APIRouter(tags=["shipping"])
