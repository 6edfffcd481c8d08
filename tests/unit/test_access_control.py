"""Tokens and scopes (shared/http): what a caller gets with no token, a bad one, the wrong role, the right one."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from cli import tokens as cli_tokens
from cli.tokens import TokenRefused, dev_token, mint
from shared.http import tokens
from shared.http.auth import install_access_control, requires
from shared.http.health import health_router
from shared.http.scopes import ROLE_SCOPES, SCOPES
from shared.http.tokens import (
    DEV_SECRET,
    InvalidToken,
    Principal,
    TokenVerifier,
    auth_settings_problem,
)
from shared.settings import ServiceSettings


def settings(**overrides: Any) -> ServiceSettings:
    return ServiceSettings(**overrides)


def verifier(**overrides: Any) -> TokenVerifier:
    return TokenVerifier.from_settings(settings(**overrides))


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "ana",
        "iss": tokens.DEV_ISSUER,
        "aud": tokens.DEFAULT_AUDIENCE,
        "iat": now,
        "exp": now + 600,
        "roles": ["support_agent"],
    }
    return {key: value for key, value in (base | overrides).items() if value is not None}


def signed(secret: str = DEV_SECRET, **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), secret, algorithm="HS256")


def test_a_support_agents_token_names_its_subject_and_grants_the_roles_scopes() -> None:
    principal = verifier().verify(signed())
    assert principal.subject == "ana"
    assert principal.scopes == ROLE_SCOPES["support_agent"]
    assert "cancellations:request" in principal.scopes and "warehouse:write" not in principal.scopes


def test_a_machine_clients_scopes_are_the_ones_its_token_carries() -> None:
    principal = verifier().verify(signed(sub="warehouse-lis", roles=None, scope="warehouse:write queues:read"))
    assert principal.is_machine_client
    assert principal.scopes == {"warehouse:write", "queues:read"}


def test_a_role_nobody_defined_grants_nothing() -> None:
    assert verifier().verify(signed(roles=["owner_of_everything"])).scopes == frozenset()


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda: signed(exp=int(time.time()) - 3600), "exp: the token has expired"),
        (lambda: signed(iss="someone-else"), "iss:"),
        (lambda: signed(aud="another-api"), "aud:"),
        (lambda: signed(secret="x" * 40), "signature:"),
        (lambda: signed(sub=None), "sub:"),
        (lambda: signed(exp=None), "exp:"),
        (lambda: signed(sub="name with spaces"), "sub:"),
        (lambda: jwt.encode(claims(), "", algorithm="none"), "alg:"),
        (lambda: "not-a-jwt", "not a JWT"),
    ],
    ids=["expired", "issuer", "audience", "signature", "no-subject", "no-expiry", "bad-subject", "alg-none", "garbage"],
)
def test_an_untrustworthy_token_is_refused_with_the_reason(token: Any, reason: str) -> None:
    with pytest.raises(InvalidToken, match=reason.replace("(", r"\(")):
        verifier().verify(token())


def test_the_dev_secret_is_refused_outside_the_dev_profile() -> None:
    problem = auth_settings_problem(settings(auth_profile="prod", auth_issuer="https://id.example.com/"))
    assert problem is not None and problem.startswith("AUTH_SECRET:")
    assert auth_settings_problem(settings()) is None  # the dev profile accepts it


def test_production_settings_with_their_own_secret_and_issuer_are_accepted() -> None:
    ok = settings(auth_profile="prod", auth_secret="s" * 48, auth_issuer="https://id.example.com/")
    assert auth_settings_problem(ok) is None
    short = settings(auth_profile="prod", auth_secret="short", auth_issuer="https://id.example.com/")
    assert (auth_settings_problem(short) or "").startswith("AUTH_SECRET:")
    dev_issuer = settings(auth_profile="prod", auth_secret="s" * 48)
    assert (auth_settings_problem(dev_issuer) or "").startswith("AUTH_ISSUER:")


def test_with_a_key_set_outside_dev_the_dev_secret_signs_nothing(tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk | {"kid": "k1", "use": "sig"}]}))
    prod = verifier(auth_profile="prod", auth_issuer="https://id.example.com/", auth_jwks=str(tmp_path / "jwks.json"))
    rs256 = jwt.encode(claims(iss="https://id.example.com/"), private, algorithm="RS256", headers={"kid": "k1"})
    assert prod.verify(rs256).subject == "ana"
    with pytest.raises(InvalidToken, match="alg:"):
        prod.verify(signed(iss="https://id.example.com/"))


def test_the_cli_mints_what_the_services_accept_and_its_defaults_match_theirs() -> None:
    assert (cli_tokens.DEV_SECRET, cli_tokens.DEV_ISSUER, cli_tokens.DEFAULT_AUDIENCE) == (
        tokens.DEV_SECRET,
        tokens.DEV_ISSUER,
        tokens.DEFAULT_AUDIENCE,
    )
    assert set(cli_tokens.ROLES) == set(ROLE_SCOPES)
    principal = verifier().verify(dev_token("logistics", "luis"))
    assert principal == Principal(subject="luis", scopes=ROLE_SCOPES["logistics"], roles=("logistics",))


def test_minting_outside_dev_needs_a_secret() -> None:
    with pytest.raises(TokenRefused, match="AUTH_PROFILE=prod"):
        mint(subject="ana", role="admin", env={"AUTH_PROFILE": "prod"})
    secret = "p" * 40
    token = mint(subject="ana", role="admin", env={"AUTH_PROFILE": "prod"}, secret=secret)
    assert verifier(auth_secret=secret).verify(token).scopes == frozenset(SCOPES)


def test_a_route_may_only_require_a_scope_that_exists() -> None:
    with pytest.raises(ValueError, match="unknown scope"):
        requires("orders:reed")


def app() -> FastAPI:
    api = FastAPI()
    router = APIRouter()

    @router.get("/orders/{order_id}", dependencies=[requires("orders:read")])
    async def get_order(order_id: str) -> dict[str, str]:
        return {"order_id": order_id}

    @router.post("/orders/{order_id}/cancellation")
    async def cancel(order_id: str, agent: Annotated[Principal, requires("cancellations:request")]) -> dict[str, str]:
        return {"order_id": order_id, "by": agent.subject}

    api.include_router(health_router("test", {}))
    install_access_control(api, settings(), max_body_bytes=1_048_576)
    api.include_router(router)
    return api


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(app())


def auth(role: str, subject: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {dev_token(role, subject)}"}


def test_no_token_is_a_401_with_a_bearer_challenge(client: TestClient) -> None:
    answer = client.get("/orders/SO-1")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"


def test_an_invalid_token_is_a_401_saying_why(client: TestClient) -> None:
    answer = client.get("/orders/SO-1", headers={"Authorization": f"Bearer {signed(exp=1)}"})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert "expired" in answer.json()["detail"]


def test_the_wrong_role_is_a_403_naming_the_missing_scope(client: TestClient) -> None:
    answer = client.post("/orders/SO-1/cancellation", headers=auth("logistics"), json={})
    assert answer.status_code == 403
    assert "cancellations:request" in answer.json()["detail"]


def test_the_right_role_passes_and_the_route_knows_who_called(client: TestClient) -> None:
    assert client.get("/orders/SO-1", headers=auth("manager")).status_code == 200
    answer = client.post("/orders/SO-1/cancellation", headers=auth("support_agent", "ana"), json={})
    assert answer.json() == {"order_id": "SO-1", "by": "ana"}


def test_health_needs_no_token(client: TestClient) -> None:
    assert client.get("/health").status_code == 200


def test_openapi_documents_the_bearer_scheme_and_each_routes_scopes(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["paths"]["/orders/{order_id}"]["get"]["security"] == [{"bearer": ["orders:read"]}]
    assert "security" not in document["paths"]["/health"]["get"]


def test_a_body_over_the_cap_is_a_413_that_does_not_echo_it(client: TestClient) -> None:
    body = b'{"reason": "' + b"A" * 2_000_000 + b'"}'
    answer = client.post(
        "/orders/SO-1/cancellation",
        headers=auth("support_agent") | {"content-type": "application/json"},
        content=body,
    )
    assert answer.status_code == 413
    assert len(answer.content) < 200


def test_a_streamed_body_over_the_cap_is_a_413_too(client: TestClient) -> None:
    def chunks() -> Any:
        for _ in range(40):
            yield b"A" * 65_536

    answer = client.post(
        "/orders/SO-1/cancellation",
        headers=auth("support_agent") | {"content-type": "application/json"},
        content=chunks(),
    )
    assert answer.status_code == 413


def test_a_post_that_is_not_json_is_a_415(client: TestClient) -> None:
    answer = client.post(
        "/orders/SO-1/cancellation",
        headers=auth("support_agent") | {"content-type": "text/plain"},
        content=b'{"reason": "x"}',
    )
    assert answer.status_code == 415
    assert "application/json" in answer.json()["detail"]


def test_a_key_set_that_cannot_be_used_is_refused_at_start(tmp_path: Path) -> None:
    missing = auth_settings_problem(settings(auth_jwks=str(tmp_path / "nowhere.json")))
    assert (missing or "").startswith("AUTH_JWKS: cannot read")
    plain_http = auth_settings_problem(settings(auth_jwks="http://id.example.com/jwks.json"))
    assert (plain_http or "").startswith("AUTH_JWKS:")
