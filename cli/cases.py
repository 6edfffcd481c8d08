"""`fulfillment case open|note|resolve`: support cases on orders (customer_service)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from cli import client
from cli.output import console

app = typer.Typer(help="Support cases (customer_service).", no_args_is_help=True)
ROLE = "support_agent"


class Category(StrEnum):
    # The values of shared.contracts.customer_service.CaseCategory, so a typo fails here, not at the service.
    late_delivery = "late_delivery"
    damaged_item = "damaged_item"
    wrong_item = "wrong_item"
    other = "other"


@app.command("open")
def open_case(
    order_id: Annotated[str, typer.Argument(help="The order the case is about")],
    category: Annotated[Category, typer.Option(help="What the case is about")],
    summary: Annotated[str, typer.Option(help="What the customer reported")],
) -> None:
    """Open a case on an order (you, the token's subject, are recorded as the agent)."""
    body = {"category": category.value, "summary": summary}
    opened = client.post(client.CUSTOMER_SERVICE, f"/orders/{order_id}/cases", body, role=ROLE)
    console().print(f"Opened case [bold]{_case_id(opened)}[/] on order {order_id} ({category.value})")


@app.command("note")
def note(
    case_id: Annotated[str, typer.Argument(help="The case id")],
    text: Annotated[str, typer.Option(help="The note")],
) -> None:
    """Add a note to a case."""
    client.post(client.CUSTOMER_SERVICE, f"/cases/{case_id}/notes", {"note": text}, role=ROLE)
    console().print(f"Noted on case [bold]{case_id}[/]")


@app.command("resolve")
def resolve(
    case_id: Annotated[str, typer.Argument(help="The case id")],
    outcome: Annotated[str, typer.Option(help="How it was resolved")],
) -> None:
    """Resolve a case."""
    client.post(client.CUSTOMER_SERVICE, f"/cases/{case_id}/resolve", {"outcome": outcome}, role=ROLE)
    console().print(f"Resolved case [bold]{case_id}[/]: {outcome}")


def _case_id(answer: Any) -> str:
    return str(answer.get("case_id", "?")) if isinstance(answer, dict) else "?"
