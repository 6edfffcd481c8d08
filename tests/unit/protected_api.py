"""A service's routers behind the same access control as in the running service, for the in-memory HTTP tests."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from cli.tokens import bearer
from shared.http.auth import install_access_control
from shared.settings import ServiceSettings


def client_for(*routers: APIRouter, role: str | None = "admin", subject: str | None = None) -> TestClient:
    """A client of `routers` sending a dev token for `role` (None: no token at all)."""
    api = FastAPI()
    settings = ServiceSettings()
    install_access_control(api, settings, max_body_bytes=settings.max_request_bytes)
    for router in routers:
        api.include_router(router)
    return TestClient(api, headers=bearer(role, subject) if role is not None else {})
