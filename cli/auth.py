"""`fulfillment auth token`: mint a bearer token for local use (dev profile), printed on stdout.

`export FULFILLMENT_TOKEN=$(uv run fulfillment auth token --role support_agent --subject ana)` makes every later
command act as ana. Outside the dev profile it refuses unless given the signing secret: production tokens come
from the identity provider.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from cli.output import fail
from cli.tokens import TokenRefused, mint

app = typer.Typer(help="Bearer tokens for the services' HTTP APIs.", no_args_is_help=True)


class Role(StrEnum):
    # The roles of shared/http/scopes.py (tests/unit/test_access_control.py keeps them in step).
    support_agent = "support_agent"
    logistics = "logistics"
    manager = "manager"
    admin = "admin"


@app.command("token")
def token(
    role: Annotated[Role | None, typer.Option(help="A person's role")] = None,
    scope: Annotated[
        list[str] | None, typer.Option(help="A scope for a machine client (repeatable), e.g. warehouse:write")
    ] = None,
    subject: Annotated[str | None, typer.Option(help="Who the token is for (default: dev-<role>)")] = None,
    ttl: Annotated[int, typer.Option(min=60, max=86_400 * 30, help="Lifetime in seconds")] = 3600,
    secret: Annotated[
        str | None, typer.Option(envvar="AUTH_SECRET", help="Signing secret (default: AUTH_SECRET, or dev's)")
    ] = None,
) -> None:
    """Print a signed token (HS256, AUTH_ISSUER / AUTH_AUDIENCE or the dev defaults)."""
    if role is None and not scope:
        fail("give --role (a person) or --scope (a machine client)")
    name = subject or (f"dev-{role.value}" if role is not None else "dev-client")
    try:
        minted = mint(subject=name, role=role.value if role else None, scopes=scope or (), ttl_s=ttl, secret=secret)
    except TokenRefused as refused:
        fail(str(refused))
    print(minted)
