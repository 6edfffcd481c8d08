"""HTTP calls to the services, with base URLs from the environment and errors as one readable line.

Every call carries a bearer token: `FULFILLMENT_TOKEN` when set, else (dev profile) one minted for the role the
command needs (cli/tokens.py), with subject `FULFILLMENT_SUBJECT` or `dev-<role>`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx

from cli.output import fail
from cli.tokens import TokenRefused, token_for


@dataclass(frozen=True)
class Service:
    name: str
    url_variable: str
    default_url: str

    @property
    def base_url(self) -> str:
        return (os.environ.get(self.url_variable) or self.default_url).rstrip("/")


ORDERS = Service("orders", "ORDERS_URL", "http://127.0.0.1:8001")
INVENTORY = Service("inventory", "INVENTORY_URL", "http://127.0.0.1:8002")
SHIPPING = Service("shipping", "SHIPPING_URL", "http://127.0.0.1:8003")
CUSTOMER_SERVICE = Service("customer_service", "CUSTOMER_SERVICE_URL", "http://127.0.0.1:8004")

TIMEOUT_S = 10.0


def get(service: Service, path: str, params: dict[str, Any] | None = None, *, role: str) -> Any:
    # Options left out on the command line are not sent: the service applies its own defaults.
    query = {key: value for key, value in (params or {}).items() if value is not None}
    return _request(service, "GET", path, role, params=query)


def post(service: Service, path: str, body: dict[str, Any] | None = None, *, role: str) -> Any:
    return _request(service, "POST", path, role, json=body or {})


def _request(service: Service, method: str, path: str, role: str, **options: Any) -> Any:
    url = service.base_url + path
    try:
        headers = {"Authorization": f"Bearer {token_for(role)}"}
    except TokenRefused as refused:
        fail(f"no token for {method} {path}: set FULFILLMENT_TOKEN ({refused})")
    try:
        response = httpx.request(method, url, timeout=TIMEOUT_S, headers=headers, **options)
    except httpx.TransportError as error:
        fail(
            f"{service.name} does not answer at {service.base_url} "
            f"({type(error).__name__}); check {service.url_variable}"
        )
    if response.status_code in (401, 403):
        fail(
            f"{service.name} refused {method} {path} ({response.status_code}): {_detail(response)}; "
            f"a token with the {role} role is needed (FULFILLMENT_TOKEN)"
        )
    if response.status_code >= 400:
        fail(f"{service.name} refused {method} {path} ({response.status_code}): {_detail(response)}")
    try:
        return response.json()
    except ValueError:
        fail(f"{service.name} answered {method} {path} with something that is not JSON; check {service.url_variable}")


def _detail(response: httpx.Response) -> str:
    """FastAPI's `{"detail": "..."}`, or its validation list as `field: problem; ...`."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(part) for part in problem.get('loc', [])[1:])}: {problem.get('msg')}"
            if isinstance(problem, dict)
            else str(problem)
            for problem in detail
        )
    return str(detail) if detail is not None else response.reason_phrase
