"""`fulfillment kpi …`: the e-commerce manager's KPIs (reporting service) as tables."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from cli import client
from cli.output import console, table

app = typer.Typer(help="KPIs over a date range (reporting).", no_args_is_help=True)

REPORTING = client.Service("reporting", "REPORTING_URL", "http://127.0.0.1:8005")
ROLE = "manager"


class Family(StrEnum):
    fulfillment = "fulfillment"
    inventory = "inventory"
    returns = "returns"
    customers = "customers"
    support = "support"


class By(StrEnum):
    day = "day"
    week = "week"
    month = "month"


From = Annotated[str | None, typer.Option("--from", help="First UTC day, YYYY-MM-DD (default: 29 days before --to)")]
To = Annotated[str | None, typer.Option("--to", help="Last UTC day, YYYY-MM-DD (default: today, or --as-of's day)")]
AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="The figures as known at this instant (RFC 3339 with offset or Z): only events that occurred by then",
    ),
]

# The columns of a per-period table, per family.
PERIOD_COLUMNS: dict[Family, list[tuple[str, str]]] = {
    Family.fulfillment: [
        ("Period", "period"), ("Orders", "orders"), ("On-time ship", "on_time_ship_rate"),
        ("On-time delivery", "on_time_delivery_rate"), ("Fill", "fill_rate"), ("Backorder", "backorder_rate"),
        ("Split", "split_shipment_rate"), ("Cancelled", "cancellation_rate"), ("Perfect", "perfect_order_rate"),
    ],
    Family.returns: [
        ("Period", "period"), ("Returned units", "returned_units"), ("Delivered units", "delivered_units"),
        ("Return rate", "return_rate"), ("Refunded", "refunded_amount"), ("Resellable", "resellable_share"),
    ],
    Family.customers: [
        ("Period", "period"), ("Orders", "orders"), ("Customers", "customers"), ("AOV", "aov"),
        ("Net revenue", "net_revenue"), ("Frequency", "purchase_frequency"), ("Repeat", "repeat_customer_rate"),
    ],
    Family.support: [
        ("Period", "period"), ("Opened", "cases_opened"), ("Resolved", "cases_resolved"), ("Open now", "open_cases"),
    ],
}  # fmt: skip
INVENTORY_COLUMNS = [
    ("Sku", "sku"), ("Warehouse", "warehouse"), ("Available", "available"), ("Units out", "units_out"),
    ("Days of supply", "days_of_supply"), ("Sell-through", "sell_through"), ("Stock-out days", "stock_out_days"),
    ("Backordered units", "backordered_units"),
]  # fmt: skip


def checked_day(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a day (YYYY-MM-DD)", param_hint=name) from None


def checked_instant(name: str, value: str | None) -> str | None:
    """An RFC 3339 time with its offset, passed on as written (the service reads it in UTC)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a time (e.g. 2026-11-05T18:00:00Z)", param_hint=name) from None
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{value!r} has no offset (add Z or e.g. +01:00)", param_hint=name)
    return value


def flatten(figures: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """Nested figures as (KPI, value) rows: `cycle_time.placed_to_delivered.p50_h`."""
    rows: list[dict[str, Any]] = []
    for name, value in figures.items():
        label = f"{prefix}{name}"
        if isinstance(value, dict) and value and not all(isinstance(v, dict) for v in value.values()):
            rows.extend(flatten(value, label + "."))
        elif isinstance(value, dict):
            for inner, figure in value.items():
                rows.extend(flatten(figure, f"{label}.{inner}.") if isinstance(figure, dict) else [])
        elif isinstance(value, list):
            rows.append({"kpi": label, "value": ", ".join(_item(v) for v in value)})
        else:
            rows.append({"kpi": label, "value": value})
    return rows


def _item(value: Any) -> str:
    if isinstance(value, dict) and "customer_id" in value:
        return f"{value['customer_id']} {value['clv']} ({value['orders']})"
    return str(value)


@app.command("summary")
def summary(start: From = None, end: To = None, as_of: AsOf = None) -> None:
    """The headline figures of every family."""
    params = {
        "from": checked_day("--from", start),
        "to": checked_day("--to", end),
        "as_of": checked_instant("--as-of", as_of),
    }
    show_summary(client.get(REPORTING, "/kpis", params, role=ROLE))


def show_summary(found: dict[str, Any]) -> None:
    out = console()
    if "as_of" in found:
        out.print(f"as of {found['as_of']} (only events that occurred by then)")
    for family in Family:
        figures = found.get(family.value, {})
        if family is Family.inventory:
            out.print(table(f"inventory {found['from']} .. {found['to']}", INVENTORY_COLUMNS, figures.get("items", [])))
            continue
        headline = {k: v for k, v in figures.items() if not isinstance(v, dict | list)}
        rows = [{"kpi": k, "value": v} for k, v in headline.items()]
        out.print(table(f"{family.value} {found['from']} .. {found['to']}", [("KPI", "kpi"), ("Value", "value")], rows))


@app.command("show")
def show(
    family: Annotated[Family, typer.Argument(help="Which KPIs")],
    start: From = None,
    end: To = None,
    by: Annotated[By | None, typer.Option(help="One row per day, week or month")] = None,
    explain: Annotated[bool, typer.Option(help="List the orders behind the figures")] = False,
    limit: Annotated[int, typer.Option(min=1, max=5000, help="At most this many rows with --explain")] = 50,
    cursor: Annotated[
        str | None, typer.Option(help="With --explain: the next page, from the last one's caption")
    ] = None,
    as_of: AsOf = None,
) -> None:
    """One family of KPIs: every figure, per period with --by, the orders behind them with --explain."""
    params = {
        "from": checked_day("--from", start),
        "to": checked_day("--to", end),
        "by": by.value if by else None,
        "explain": "true" if explain else None,
        "limit": limit if explain else None,
        "cursor": cursor if explain else None,
        "as_of": checked_instant("--as-of", as_of),
    }
    found = client.get(REPORTING, f"/kpis/{family.value}", params, role=ROLE)
    out = console()
    if "as_of" in found:
        out.print(f"as of {found['as_of']} (only events that occurred by then)")
    title = f"{family.value} {found['from']} .. {found['to']}"
    if family is Family.inventory:
        out.print(table(title, INVENTORY_COLUMNS, found["total"]["items"]))
        for period in found.get("periods", []):
            out.print(table(f"inventory {period['period']}", INVENTORY_COLUMNS, period["items"]))
    else:
        out.print(table(title, [("KPI", "kpi"), ("Value", "value")], flatten(found["total"])))
        if found.get("periods"):
            out.print(table(f"{family.value} by {found['by']}", PERIOD_COLUMNS[family], found["periods"]))
    if "ship_by_rule" in found:
        out.print(f"ship-by rule: {found['ship_by_rule']}")
    if explain:
        rows = [{**r, "contributes": _counters(r)} for r in found.get("orders", [])]
        columns = [("Day", "day"), ("Order", "order_id"), ("Contributes", "contributes")]
        view = table(f"orders behind {family.value}", columns, rows)
        view.caption = f"{len(rows)} rows (order x day) shown of {found.get('rows_total', len(rows))}"
        if found.get("next_cursor"):
            view.caption += f"; next page: --cursor '{found['next_cursor']}'"
        out.print(view)


def _counters(row: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in row["contributes"].items()]
    if "perfect_order" in row:
        parts.insert(0, f"perfect={row['perfect_order']['score']}")
    return " ".join(parts)
