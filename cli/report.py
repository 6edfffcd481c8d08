"""`fulfillment report …`: the manager's digests (reporting): list, produce one now, show, download."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from cli import client
from cli.kpi import REPORTING, ROLE
from cli.output import console, fail, table
from cli.tokens import TokenRefused, token_for

app = typer.Typer(help="Daily and weekly digests (reporting).", no_args_is_help=True)


class Kind(StrEnum):
    daily = "daily"
    weekly = "weekly"


class Format(StrEnum):
    html = "html"
    csv = "csv"
    pdf = "pdf"


def where(report_id: str) -> str:
    return f"{REPORTING.base_url}/reports/{report_id}?format=html"


@app.command("list")
def list_reports(kind: Annotated[Kind | None, typer.Option(help="Only daily or weekly")] = None) -> None:
    """Stored digests, newest first."""
    found = client.get(REPORTING, "/reports", {"kind": kind.value if kind else None}, role=ROLE)
    columns = [("Report", "report_id"), ("From", "from"), ("To", "to"), ("Data", "has_data"), ("Mailed", "mailed")]
    console().print(table("Digests", columns, found["items"]))


@app.command("make")
def make(
    kind: Annotated[Kind, typer.Argument(help="daily, or weekly (the ISO week holding --day)")],
    day: Annotated[str, typer.Option(help="A UTC day, YYYY-MM-DD")] = "",
) -> None:
    """Produce a digest now (stored beside the scheduled ones) and say where to read it."""
    chosen = day or date.today().isoformat()
    try:
        date.fromisoformat(chosen)
    except ValueError:
        raise typer.BadParameter(f"{chosen!r} is not a day (YYYY-MM-DD)", param_hint="--day") from None
    made = client.post(REPORTING, "/reports", {"kind": kind.value, "day": chosen}, role=ROLE)
    console().print(f"{made['report_id']} ({made['from']} .. {made['to']}): {where(made['report_id'])}")


@app.command("show")
def show(report_id: Annotated[str, typer.Argument(help="A report id from `fulfillment report list`")]) -> None:
    """A digest's KPIs with their change, and how many exceptions of each kind."""
    content = client.get(REPORTING, f"/reports/{report_id}", role=ROLE)
    show_content(content)


def show_content(content: dict[str, Any]) -> None:
    out = console()
    columns = [("Area", "family"), ("KPI", "kpi"), ("Value", "value"), ("Previous", "previous"), ("Change", "change")]
    out.print(table(f"{content['report_id']}: {content['from']} .. {content['to']}", columns, content["headlines"]))
    counts = [{"exception": k, "count": len(v)} for k, v in content["exceptions"].items()]
    out.print(table("Exceptions", [("Exception", "exception"), ("Count", "count")], counts))
    out.print(f"HTML: {where(content['report_id'])} (also ?format=csv, ?format=pdf)")


@app.command("get")
def get(
    report_id: Annotated[str, typer.Argument(help="A report id")],
    format: Annotated[Format, typer.Option(help="html, csv or pdf")] = Format.pdf,
    output: Annotated[Path | None, typer.Option(help="File to write (default <report id>.<format>)")] = None,
) -> None:
    """Download a digest as HTML, CSV or PDF."""
    target = output or Path(f"{report_id}.{format.value}")
    try:
        headers = {"Authorization": f"Bearer {token_for(ROLE)}"}
    except TokenRefused as refused:
        fail(f"no token for the report: set FULFILLMENT_TOKEN ({refused})")
    url = f"{REPORTING.base_url}/reports/{report_id}"
    try:
        response = httpx.get(url, params={"format": format.value}, headers=headers, timeout=client.TIMEOUT_S)
    except httpx.TransportError as error:
        fail(f"reporting does not answer at {REPORTING.base_url} ({type(error).__name__}); check REPORTING_URL")
    if response.status_code >= 400:
        fail(f"reporting refused GET /reports/{report_id} ({response.status_code}): {response.text[:200]}")
    target.write_bytes(response.content)
    console().print(f"wrote {target} ({len(response.content)} bytes)")
