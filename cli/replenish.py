"""`fulfillment replenish`: what to order now, per sku and warehouse, sorted by days of supply (reporting)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from cli import client
from cli.kpi import REPORTING, ROLE
from cli.output import console, table

COLUMNS = [
    ("Sku", "sku"), ("Warehouse", "warehouse"), ("Available", "available"), ("Days of supply", "days_of_supply"),
    ("Demand/day", "daily_demand_mean"), ("Sd", "daily_demand_sd"), ("Lead time (d)", "lead_time_days"),
    ("Safety stock", "safety_stock"), ("Reorder point", "reorder_point"), ("Order now", "suggested_quantity"),
]  # fmt: skip


def replenish(
    as_of: Annotated[str | None, typer.Option(help="Last day of the demand window, YYYY-MM-DD (default today)")] = None,
    all_items: Annotated[bool, typer.Option("--all", help="Every sku and warehouse, not only those to order")] = False,
) -> None:
    """Reorder points (lead-time demand + z·sd·√lead time) and suggested quantities, lowest days of supply first."""
    if as_of is not None:
        try:
            date.fromisoformat(as_of)
        except ValueError:
            raise typer.BadParameter(f"{as_of!r} is not a day (YYYY-MM-DD)", param_hint="--as-of") from None
    found = client.get(REPORTING, "/replenishment", {"as_of": as_of}, role=ROLE)
    rows = found["items"] if all_items else found["order_now"]
    view = table(f"replenishment as of {found['as_of']}", COLUMNS, rows)
    view.caption = (
        f"window {found['window_days']} d · service level {found['service_level']} (z {found['z']}) · "
        f"cover {found['cover_days']} d · {len(found['order_now'])} to order of {len(found['items'])}"
    )
    console().print(view)
