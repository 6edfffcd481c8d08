"""The CLI's bearer tokens: `fulfillment auth token`, and what every command sends."""

from __future__ import annotations

from cli.auth import Role
from shared.http.scopes import ROLE_SCOPES
from shared.http.tokens import TokenVerifier
from shared.settings import ServiceSettings
from tests.unit.cli.conftest import Cli
from tests.unit.cli.stub import Stub

VERIFIER = TokenVerifier.from_settings(ServiceSettings())


def sent_token(stub: Stub, path: str) -> str:
    header = stub.authorizations[path]
    assert header is not None and header.startswith("Bearer "), header
    return header.removeprefix("Bearer ")


def test_a_minted_token_verifies_as_the_role_and_subject_asked_for(cli: Cli) -> None:
    result = cli("auth", "token", "--role", "support_agent", "--subject", "ana")
    assert result.exit_code == 0, result.output
    principal = VERIFIER.verify(result.stdout.strip())
    assert (principal.subject, principal.scopes) == ("ana", ROLE_SCOPES["support_agent"])


def test_a_machine_clients_token_carries_the_scopes_asked_for(cli: Cli) -> None:
    result = cli("auth", "token", "--scope", "warehouse:write", "--scope", "queues:read", "--subject", "wh-lis")
    assert VERIFIER.verify(result.stdout.strip()).scopes == {"warehouse:write", "queues:read"}


def test_minting_is_refused_outside_the_dev_profile_without_a_secret(cli: Cli) -> None:
    result = cli("auth", "token", "--role", "admin", AUTH_PROFILE="prod")
    assert result.exit_code == 1
    assert "AUTH_PROFILE=prod" in result.stderr and result.stdout == ""


def test_each_command_sends_a_token_for_the_role_it_needs(cli: Cli, stub: Stub) -> None:
    assert cli("case", "note", "CASE-7", "--text", "t", FULFILLMENT_SUBJECT="ana").exit_code == 0
    agent = VERIFIER.verify(sent_token(stub, "/cases/CASE-7/notes"))
    assert agent.subject == "ana" and agent.roles == ("support_agent",)

    assert cli("shipments", "late").exit_code == 0
    assert VERIFIER.verify(sent_token(stub, "/shipments/late")).roles == ("logistics",)


def test_a_given_token_is_sent_as_it_is(cli: Cli, stub: Stub) -> None:
    assert cli("order", "show", "SO-1", FULFILLMENT_TOKEN="given.token.value").exit_code == 0
    assert sent_token(stub, "/orders/SO-1/history") == "given.token.value"


def test_the_cli_offers_exactly_the_services_roles() -> None:
    assert {role.value for role in Role} == set(ROLE_SCOPES)
