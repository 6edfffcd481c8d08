"""The two switches that turn protection off (UNSAFE_DISABLE_HTTP_AUTH, UNSAFE_DISABLE_PERSONAL_DATA_SEALING):
accepted in the dev profile only, refused at start anywhere else, and what they do where they are accepted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pymongo import MongoClient

from cli.tokens import bearer, dev_token
from shared.http.auth import install_access_control, requires
from shared.http.scopes import SCOPES
from shared.http.tokens import (
    UNAUTHENTICATED_SUBJECT,
    InvalidToken,
    Principal,
    TokenVerifier,
    auth_settings_problem,
)
from shared.personal_data import KeyVault, PlaintextSealer, Sealer, sealer_for, sealing_settings_problem
from shared.runtime import ServiceRuntime, StartupError
from shared.settings import ServiceSettings

HTTP_AUTH = "UNSAFE_DISABLE_HTTP_AUTH"
SEALING = "UNSAFE_DISABLE_PERSONAL_DATA_SEALING"
# A production profile that is otherwise acceptable: only the switch can be what is refused.
PROD = {"auth_profile": "prod", "auth_secret": "s" * 48, "auth_issuer": "https://id.example.com/"}


def settings(**overrides: Any) -> ServiceSettings:
    return ServiceSettings(**overrides)


def test_http_auth_off_is_refused_outside_the_dev_profile_naming_the_setting() -> None:
    assert auth_settings_problem(settings(**PROD)) is None
    problem = auth_settings_problem(settings(**PROD, unsafe_disable_http_auth=True))
    assert problem is not None and problem.startswith(f"{HTTP_AUTH}:") and "AUTH_PROFILE=prod" in problem
    assert auth_settings_problem(settings(unsafe_disable_http_auth=True)) is None  # dev


def test_sealing_off_is_refused_outside_the_dev_profile_naming_the_setting() -> None:
    assert sealing_settings_problem(settings(**PROD)) is None
    problem = sealing_settings_problem(settings(**PROD, unsafe_disable_personal_data_sealing=True))
    assert problem is not None and problem.startswith(f"{SEALING}:") and "AUTH_PROFILE=prod" in problem
    assert sealing_settings_problem(settings(unsafe_disable_personal_data_sealing=True)) is None  # dev


@pytest.mark.parametrize(
    ("switch", "setting"), [("unsafe_disable_http_auth", HTTP_AUTH), ("unsafe_disable_personal_data_sealing", SEALING)]
)
def test_a_service_outside_dev_with_a_switch_on_does_not_start(switch: str, setting: str) -> None:
    runtime = ServiceRuntime.create("orders", settings(**PROD, **{switch: True}))
    # Refused before connecting to anything: the servers named in the settings need not exist.
    with pytest.raises(StartupError, match=f"^orders: {setting}: refused with AUTH_PROFILE=prod"):
        asyncio.run(runtime.start())
    assert not runtime.started


def test_the_switches_are_off_unless_set() -> None:
    defaults = settings()
    assert not defaults.unsafe_disable_http_auth and not defaults.unsafe_disable_personal_data_sealing
    on = ServiceSettings.model_validate({HTTP_AUTH: "true", SEALING: "1"})
    assert on.unsafe_disable_http_auth and on.unsafe_disable_personal_data_sealing


# HTTP auth off.


def app(**overrides: Any) -> FastAPI:
    api = FastAPI()
    router = APIRouter()

    @router.get("/orders/{order_id}", dependencies=[requires("orders:read")])
    async def get_order(order_id: str) -> dict[str, str]:
        return {"order_id": order_id}

    @router.post("/customers/{customer_id}/erasure")
    async def erase(customer_id: str, admin: Annotated[Principal, requires("personal_data:erase")]) -> dict[str, Any]:
        return {"by": admin.subject, "scopes": sorted(admin.scopes)}

    install_access_control(api, settings(**overrides), max_body_bytes=1_048_576)
    api.include_router(router)
    return api


def test_with_http_auth_off_every_caller_is_the_unauthenticated_dev_principal_with_every_scope() -> None:
    client = TestClient(app(unsafe_disable_http_auth=True))
    assert client.get("/orders/SO-1").status_code == 200  # no token
    anonymous = client.post("/customers/C-1/erasure", json={})
    assert anonymous.json() == {"by": UNAUTHENTICATED_SUBJECT, "scopes": sorted(SCOPES)}
    # A token, valid or not, is not even read: the actor is still the unauthenticated one, never its subject.
    as_ana = client.post("/customers/C-1/erasure", json={}, headers=bearer("manager", "ana"))
    assert as_ana.json()["by"] == UNAUTHENTICATED_SUBJECT
    garbage = client.get("/orders/SO-1", headers={"Authorization": "Bearer not-a-jwt"})
    assert garbage.status_code == 200


def test_outside_dev_the_http_switch_opens_nothing_even_without_the_start_check() -> None:
    client = TestClient(app(**PROD, unsafe_disable_http_auth=True))
    assert client.get("/orders/SO-1").status_code == 401


def test_no_token_may_claim_the_unauthenticated_subject() -> None:
    verifier = TokenVerifier.from_settings(settings())
    with pytest.raises(InvalidToken, match=r"sub: 'dev\.unauthenticated' is reserved"):
        verifier.verify(dev_token("admin", UNAUTHENTICATED_SUBJECT))


# Sealing off.


@pytest.fixture
def vault() -> Iterator[KeyVault]:
    """A vault that is never reached: sealing nothing needs no key (the client connects on first use only)."""
    client: MongoClient[dict[str, Any]] = MongoClient("mongodb://127.0.0.1:1", connect=False)
    yield KeyVault(client["unused"]["personal_data_keys"])
    client.close()


def test_with_sealing_off_in_dev_values_are_stored_as_they_are(vault: KeyVault) -> None:
    sealer = sealer_for(vault, settings(unsafe_disable_personal_data_sealing=True))
    assert isinstance(sealer, PlaintextSealer)
    customer = {"id": "C-1", "email": "ana@example.com", "name": "Ana Silva"}
    stored = sealer.seal(customer, "C-1", ("email", "name"), "customer")
    assert stored == customer and stored is not customer
    assert sealer.open(stored, "customer") == customer


def test_sealing_stays_on_by_default_and_outside_dev(vault: KeyVault) -> None:
    assert type(sealer_for(vault, settings())) is Sealer
    assert type(sealer_for(vault, settings(**PROD, unsafe_disable_personal_data_sealing=True))) is Sealer
