"""The demo's last word: the day's KPIs from the reporting service, and where to read the day's digest."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime

import httpx
from rich.console import Console

from cli.kpi import show_summary
from cli.tokens import token_for

REPORTING_URL = os.environ.get("REPORTING_URL", "http://127.0.0.1:8005")


async def managers_view(console: Console, orders: int, wait_s: float = 30.0) -> None:
    """Wait (bounded) until the read model has the demo's orders, print today's KPIs, produce today's digest."""
    today = datetime.now(UTC).date().isoformat()
    headers = {"Authorization": f"Bearer {token_for('manager')}"}
    try:
        async with httpx.AsyncClient(base_url=REPORTING_URL, timeout=30, headers=headers) as client:
            deadline = time.monotonic() + wait_s
            while True:
                found = (await client.get("/kpis", params={"from": today, "to": today})).json()
                if found["fulfillment"]["orders"] >= orders or time.monotonic() > deadline:
                    break
                await asyncio.sleep(1)
            console.print()
            console.print(f"[bold]Today's KPIs ({today}), from the reporting service[/bold]")
            show_summary(found)
            made = (await client.post("/reports", json={"kind": "daily", "day": today})).json()
    except (httpx.HTTPError, KeyError, ValueError) as error:
        console.print(f"[yellow]The reporting service did not answer at {REPORTING_URL}: {error}")
        return
    report_id = made["report_id"]
    console.print(
        f"Today's digest: {REPORTING_URL}/reports/{report_id}?format=html (also ?format=pdf, ?format=csv), "
        f"or `uv run fulfillment report show {report_id}`. Scheduled digests: `uv run fulfillment report list`."
    )
