"""Where the CLI writes: rich tables on stdout, one-line errors on stderr."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table


def console() -> Console:
    # Built per call, not at import: the width (COLUMNS) and the stream are those of this invocation.
    return Console(highlight=False)


def fail(message: str) -> NoReturn:
    """One clear line, exit code 1: what people read in a terminal or a CI log."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {message}", markup=True)
    raise typer.Exit(code=1)


def text(value: Any) -> str:
    """A JSON value as a table cell: customers and other objects by their most telling field."""
    if value is None:
        return ""
    if isinstance(value, dict):
        for key in ("email", "id", "name"):
            if key in value:
                return str(value[key])
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, list):
        return ", ".join(text(item) for item in value)
    return str(value)


def table(title: str, columns: Sequence[tuple[str, str]], rows: Iterable[dict[str, Any]]) -> Table:
    """`columns` are (heading, key); identifier columns never wrap, so they can be copied whole."""
    view = Table(title=title, title_justify="left")
    for heading, key in columns:
        view.add_column(heading, no_wrap=key.endswith("_id") or key in ("tracking_number", "at"))
    for row in rows:
        view.add_row(*(text(row.get(key)) for _, key in columns))
    return view


def page_caption(page: dict[str, Any]) -> str:
    shown = len(page.get("items", []))
    return f"page {page.get('page', 1)} · {shown} shown of {page.get('total', shown)}"
