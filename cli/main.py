"""The `fulfillment` console script: one Typer app, one sub-command group per concern."""

from __future__ import annotations

import typer

from cli import auth, cases, kpi, orders, projections, replenish, report, shipments

app = typer.Typer(
    name="fulfillment",
    help="Order fulfillment for people. Services are found through ORDERS_URL, INVENTORY_URL, SHIPPING_URL, "
    "CUSTOMER_SERVICE_URL and REPORTING_URL (default http://127.0.0.1:8001 to 8005); the bearer token from "
    "FULFILLMENT_TOKEN, else one minted for the dev profile (`fulfillment auth token`).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(orders.app, name="order")
app.add_typer(shipments.app, name="shipments")
app.add_typer(cases.app, name="case")
app.add_typer(projections.app, name="projections")
app.add_typer(auth.app, name="auth")
app.add_typer(kpi.app, name="kpi")
app.command("replenish")(replenish.replenish)
app.add_typer(report.app, name="report")

if __name__ == "__main__":
    app()
