"""Outside the dev profile the console signs people in through the configured OIDC provider (authorization code
with PKCE) and never mints a token; the words its forms offer are the services' own; bad search fields are named.

Not covered here: the code-for-token exchange against a real provider (no provider runs in the tests)."""

from __future__ import annotations

import base64
import hashlib
from typing import get_args
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from console.app import create_console_app
from console.config import BadSetting, ConsoleSettings
from console.oidc import STATE_COOKIE
from console.search import OrderQuery
from console.terms import CASE_CATEGORIES, CASE_PRIORITIES, ORDER_STATUSES
from console.web import COOKIE
from shared.contracts.customer_service import CaseCategory, CasePriority
from shared.contracts.orders import OrderStatus

PROVIDER = {
    "AUTH_PROFILE": "prod",
    "OIDC_ISSUER": "https://id.example.com/realms/shop",
    "OIDC_CLIENT_ID": "fulfillment-console",
    "OIDC_REDIRECT_URI": "https://console.example.com/callback",
    "OIDC_AUTHORIZATION_ENDPOINT": "https://id.example.com/realms/shop/protocol/openid-connect/auth",
    "OIDC_TOKEN_ENDPOINT": "https://id.example.com/realms/shop/protocol/openid-connect/token",
}


def prod_console() -> TestClient:
    return TestClient(
        create_console_app(ConsoleSettings.from_env(PROVIDER)), base_url="https://testserver", follow_redirects=False
    )


def test_outside_dev_the_sign_in_page_sends_the_browser_to_the_providers_authorize_url_with_pkce() -> None:
    browser = prod_console()
    answer = browser.get("/sign-in")

    assert answer.status_code == 303
    target = urlsplit(answer.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == PROVIDER["OIDC_AUTHORIZATION_ENDPOINT"]
    query = {key: values[0] for key, values in parse_qs(target.query).items()}
    assert query["response_type"] == "code" and query["client_id"] == "fulfillment-console"
    assert query["redirect_uri"] == PROVIDER["OIDC_REDIRECT_URI"] and query["scope"] == "openid"
    assert query["code_challenge_method"] == "S256"
    # The browser keeps the state and the verifier whose hash the provider was sent.
    state, verifier = browser.cookies[STATE_COOKIE].strip('"').split(".", 1)
    assert state == query["state"]
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert digest == query["code_challenge"]
    assert "HttpOnly" in answer.headers["set-cookie"] and "secure" in answer.headers["set-cookie"].lower()


def test_outside_dev_the_dev_sign_in_is_refused() -> None:
    browser = prod_console()
    answer = browser.post("/sign-in", data={"name": "ana", "role": "admin"})

    assert answer.status_code == 400 and "issues no tokens" in answer.text
    assert COOKIE not in browser.cookies


def test_an_answer_this_browser_did_not_ask_for_signs_nobody_in() -> None:
    browser = prod_console()
    browser.get("/sign-in")
    answer = browser.get("/callback", params={"code": "stolen-code", "state": "someone-elses-state"})

    assert answer.status_code == 400 and "does not match the one this browser started" in answer.text
    assert COOKIE not in browser.cookies


def test_a_refusal_from_the_provider_is_shown_in_words() -> None:
    answer = prod_console().get("/callback", params={"error": "access_denied", "error_description": "User said no"})
    assert answer.status_code == 400 and "did not sign you in: User said no" in answer.text


def test_outside_dev_the_console_does_not_start_without_its_provider() -> None:
    without = {key: value for key, value in PROVIDER.items() if key != "OIDC_TOKEN_ENDPOINT"}
    with pytest.raises(BadSetting, match="OIDC_TOKEN_ENDPOINT must be set outside the dev profile"):
        ConsoleSettings.from_env(without)


def test_the_forms_offer_the_services_own_words() -> None:
    assert get_args(OrderStatus) == ORDER_STATUSES
    assert tuple(CASE_CATEGORIES) == get_args(CaseCategory)
    assert get_args(CasePriority) == CASE_PRIORITIES


def test_a_bad_search_field_is_named_and_days_become_the_whole_utc_days() -> None:
    bad = OrderQuery.of({"order_id": "SO 1", "email": "nobody", "placed_from": "2026-12-02", "placed_to": "2026-12-01"})
    assert bad.problems() == [
        "Order id: 1 to 64 letters, digits or . _ - (got “SO 1”).",
        "E-mail: “nobody” is not an e-mail address.",
        "Placed from: must not be after “Placed to”.",
    ]
    good = OrderQuery.of({"sku": "SKU-1", "placed_from": "2026-12-01", "placed_to": "2026-12-01"}, page=2)
    assert good.problems() == []
    assert good.params() == {
        "order_id": "",
        "email": "",
        "tracking_number": "",
        "sku": "SKU-1",
        "status": "",
        "placed_from": "2026-12-01T00:00:00Z",
        "placed_to": "2026-12-01T23:59:59.999999Z",
        "page": 2,
        "page_size": 25,
    }
