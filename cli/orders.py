"""`fulfillment order show|search`: an order's history and finding orders (customer_service)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from cli import client
from cli.output import console, page_caption, table, text

app = typer.Typer(help="Orders: history timeline and search (customer_service).", no_args_is_help=True)

TIMELINE = [("At", "at"), ("Source", "source"), ("Type", "type"), ("Summary", "summary")]
# Shown first when present; the service may add more fields, which follow in the order it sends them.
SEARCH_COLUMNS = [("Order", "order_id"), ("Status", "status"), ("Customer", "customer")]


@app.command("show")
def show(order_id: Annotated[str, typer.Argument(help="The storefront's order id, e.g. SO-100045")]) -> None:
    """The order's timeline across every service."""
    history = client.get(client.CUSTOMER_SERVICE, f"/orders/{order_id}/history", role="support_agent")
    out = console()
    out.print(
        f"[bold]{history.get('order_id', order_id)}[/]  status [bold]{history.get('status', '?')}[/]"
        f"  customer {text(history.get('customer'))}"
    )
    out.print(table(f"Timeline of {order_id}", TIMELINE, history.get("timeline", [])))


@app.command("search")
def search(
    email: Annotated[str | None, typer.Option(help="Customer email")] = None,
    customer: Annotated[str | None, typer.Option(help="Customer id")] = None,
    tracking: Annotated[str | None, typer.Option(help="Carrier tracking number")] = None,
    sku: Annotated[str | None, typer.Option(help="An ordered sku")] = None,
    status: Annotated[str | None, typer.Option(help="Order status, e.g. shipped")] = None,
    placed_from: Annotated[date | None, typer.Option("--from", help="Placed on or after (YYYY-MM-DD)")] = None,
    placed_to: Annotated[date | None, typer.Option("--to", help="Placed on or before (YYYY-MM-DD)")] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """Orders matching every given filter, one page at a time."""
    params: dict[str, Any] = {
        # The names customer_service's `GET /orders` takes.
        "email": email,
        "customer_id": customer,
        "tracking_number": tracking,
        "sku": sku,
        "status": status,
        "placed_from": placed_from.isoformat() if placed_from else None,
        "placed_to": placed_to.isoformat() if placed_to else None,
        "page": page,
    }
    found = client.get(client.CUSTOMER_SERVICE, "/orders", params, role="support_agent")
    items: list[dict[str, Any]] = found.get("items", [])
    view = table("Orders", _search_columns(items), items)
    view.caption = page_caption(found)
    console().print(view)


def _search_columns(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    columns = list(SEARCH_COLUMNS)
    known = {key for _, key in columns}
    for item in items:
        for key in item:
            if key not in known:
                known.add(key)
                columns.append((key.replace("_", " ").capitalize(), key))
    return columns
