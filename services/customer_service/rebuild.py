"""`python -m services.customer_service.rebuild`: rebuild the read models here and now, with a progress bar.

Uses the same settings as the service (MONGODB_URL, DATABASE_PREFIX) and the same rebuild as
`POST /projections/rebuild` (and its lease: not while another rebuild runs); the rebuilt generation becomes the
active one and the older ones are dropped.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from pymongo import AsyncMongoClient
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.customer_service.bootstrap import SERVICE_NAME
from services.customer_service.config import CustomerServiceSettings
from services.customer_service.projections.lease import RebuildRunning
from services.customer_service.projections.personal import personal_documents
from services.customer_service.projections.rebuild import Rebuilder, RebuildProgress
from services.customer_service.projections.store import ProjectionStore


async def rebuild(settings: CustomerServiceSettings, console: Console) -> RebuildProgress:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url, uuidRepresentation="standard")
    database = settings.database_prefix + SERVICE_NAME
    personal = personal_documents(settings, database)
    try:
        store = ProjectionStore(client[database], personal=personal.documents, partitions=settings.partitions)
        with Progress(
            TextColumn("[bold]rebuilding[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} events/s"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("rebuild", total=None, rate="-")

            def show(progress: RebuildProgress) -> None:
                bar.update(task, completed=progress.processed, total=progress.total, rate=progress.events_per_second)

            rebuilder = Rebuilder(store, on_progress=show)
            result = await rebuilder.run(rebuilder.new_progress())
            show(result)
        return result
    finally:
        await client.close()
        personal.close()


def main() -> int:
    console = Console()
    try:
        result = asyncio.run(rebuild(CustomerServiceSettings(), console))
    except RebuildRunning as running:
        console.print(f"[red]{running}[/red]")
        return 1
    if result.status != "done":
        console.print(f"[red]rebuild {result.rebuild_id} failed:[/red] {result.error}")
        return 1
    console.print(
        f"rebuild {result.rebuild_id}: {result.processed} events into generation {result.generation} "
        f"(replacing {result.replaced}) at {result.events_per_second} events/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
