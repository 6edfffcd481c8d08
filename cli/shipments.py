"""`fulfillment shipments late|exceptions`: the logistics work queues (shipping)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import client
from cli.output import console, page_caption, table

app = typer.Typer(help="Shipments needing attention (shipping).", no_args_is_help=True)

COLUMNS = [
    ("Shipment", "shipment_id"),
    ("Order", "order_id"),
    ("Warehouse", "warehouse"),
    ("Status", "status"),
    ("Promised", "promised_delivery_by"),
    ("Carrier", "carrier"),
    ("Tracking", "tracking_number"),
    ("Carrier detail", "carrier_detail"),
]

Page = Annotated[int, typer.Option(min=1, help="Page number")]
PageSize = Annotated[int, typer.Option(min=1, max=200, help="Shipments per page")]


@app.command("late")
def late(page: Page = 1, page_size: PageSize = 50) -> None:
    """Promised delivery date passed, not delivered, not cancelled."""
    _show("Late shipments", "/shipments/late", page, page_size)


@app.command("exceptions")
def exceptions(page: Page = 1, page_size: PageSize = 50) -> None:
    """Carrier status exception, delivery_attempted or returned_to_sender."""
    _show("Shipment exceptions", "/shipments/exceptions", page, page_size)


def _show(title: str, path: str, page: int, page_size: int) -> None:
    found = client.get(client.SHIPPING, path, {"page": page, "page_size": page_size}, role="logistics")
    view = table(title, COLUMNS, found.get("items", []))
    view.caption = page_caption(found)
    console().print(view)
