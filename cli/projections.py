"""`fulfillment projections rebuild`: rebuild customer_service's read models, with a progress bar."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli import client
from cli.output import console, fail

app = typer.Typer(help="Read models (customer_service).", no_args_is_help=True)

FINISHED = frozenset({"completed", "complete", "done", "finished", "succeeded"})
FAILED = frozenset({"failed", "error", "cancelled"})


@app.command("rebuild")
def rebuild(
    poll_interval: Annotated[float, typer.Option(min=0.01, help="Seconds between progress checks")] = 0.5,
    timeout: Annotated[float, typer.Option(min=1, help="Give up waiting after this many seconds")] = 3600,
) -> None:
    """Start a rebuild and follow it until it finishes."""
    started = client.post(client.CUSTOMER_SERVICE, "/projections/rebuild", role="admin")
    rebuild_id = str(started.get("rebuild_id", ""))
    if not rebuild_id:
        fail("customer_service did not say which rebuild it started (no rebuild_id)")
    deadline = time.monotonic() + timeout
    out = console()
    columns = (
        TextColumn("[bold]rebuild"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8.0f} events/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=out) as progress:
        task = progress.add_task("rebuild", total=None, rate=0.0)
        while True:
            state: dict[str, Any] = client.get(
                client.CUSTOMER_SERVICE, f"/projections/rebuild/{rebuild_id}", role="admin"
            )
            progress.update(
                task,
                completed=int(state.get("processed") or 0),
                total=state.get("total"),
                rate=float(state.get("events_per_second") or 0.0),
            )
            status = str(state.get("status", ""))
            if status in FINISHED or status in FAILED:
                break
            if time.monotonic() > deadline:
                fail(f"rebuild {rebuild_id} still {status or 'running'} after {timeout:.0f}s")
            time.sleep(poll_interval)
    if status in FAILED:
        fail(f"rebuild {rebuild_id} {status}: {state.get('error') or state.get('detail') or 'no reason given'}")
    out.print(f"Rebuild {rebuild_id} {status}: {state.get('processed', 0)} events")
