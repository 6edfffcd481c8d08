"""The console's own rules, on the app in process (no services needed): the role table it hides actions by is
the services' own, sign-in mints only in the dev profile into an HttpOnly cookie, and failures read as words."""

from __future__ import annotations

from fastapi.testclient import TestClient

from console.access import ROLE_SCOPES as CONSOLE_ROLE_SCOPES
from console.access import user_of
from console.app import create_console_app
from console.config import BadSetting, ConsoleSettings
from console.web import COOKIE
from shared.http.scopes import ROLE_SCOPES
from shared.http.tokens import TokenVerifier
from shared.settings import ServiceSettings
from tests.stack import free_port


def client(**settings: object) -> TestClient:
    return TestClient(create_console_app(ConsoleSettings(**settings)), follow_redirects=False)  # type: ignore[arg-type]


def signed_in(role: str, **settings: object) -> TestClient:
    browser = client(**settings)
    answer = browser.post("/sign-in", data={"name": "ana", "role": role})
    assert answer.status_code == 303, answer.text
    return browser


def test_the_console_hides_actions_by_the_same_role_table_the_services_enforce() -> None:
    assert CONSOLE_ROLE_SCOPES == ROLE_SCOPES


def test_signing_in_in_dev_keeps_a_verifiable_token_of_the_role_in_an_httponly_cookie() -> None:
    browser = client()
    answer = browser.post("/sign-in", data={"name": "ana", "role": "support_agent"})

    assert answer.status_code == 303 and answer.headers["location"] == "/orders"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    token = browser.cookies[COOKIE]
    principal = TokenVerifier.from_settings(ServiceSettings()).verify(token)
    assert principal.subject == "ana" and principal.scopes == ROLE_SCOPES["support_agent"]


def test_outside_dev_the_sign_in_page_mints_nothing_and_says_why() -> None:
    browser = client(auth_profile="prod")

    assert "issues no tokens" in browser.get("/sign-in").text
    answer = browser.post("/sign-in", data={"name": "ana", "role": "admin"})
    assert answer.status_code == 400 and "AUTH_PROFILE=prod" in answer.text
    assert COOKIE not in browser.cookies


def test_a_page_without_sign_in_leads_to_the_sign_in_page() -> None:
    answer = client().get("/orders/SO-1")
    assert answer.status_code == 303 and answer.headers["location"] == "/sign-in"


def test_a_service_that_does_not_answer_is_named_in_words() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    page = signed_in("support_agent", customer_service_url=closed).get("/orders/SO-1")

    assert page.status_code == 502
    assert f"customer_service does not answer at {closed}" in page.text
    assert "Traceback" not in page.text


def test_a_page_the_role_does_not_open_says_so_and_offers_no_action() -> None:
    page = signed_in("logistics").get("/orders/SO-1")
    assert page.status_code == 403 and "does not open this page" in page.text
    assert "Cancel order" not in page.text


def test_an_unknown_page_is_a_sentence() -> None:
    page = signed_in("manager").get("/no/such/page")
    assert page.status_code == 404 and "There is no such page." in page.text


def test_a_token_that_is_not_a_jwt_names_no_user() -> None:
    assert user_of("not-a-token") is None


def test_a_bad_port_setting_is_refused_naming_it() -> None:
    try:
        ConsoleSettings.from_env({"CONSOLE_HTTP_PORT": "eighty"})
    except BadSetting as bad:
        assert "CONSOLE_HTTP_PORT" in str(bad)
    else:
        raise AssertionError("a port that is not a number was accepted")
