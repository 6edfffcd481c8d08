"""Round trips to the store, counted per command and collection for the whole process (PyMongo command
monitoring).

The cost of this system on FerretDB is the number of round trips, so it is a metric of its own
(`fulfillment_store_commands_total{command=...,collection=...}` at /metrics); the order benchmark divides it by
orders, and the collection says which part of a service spends them. FerretDB (SQLite) runs each document of an
update or delete command in a transaction of its own, so the statements a command carries are counted too
(`fulfillment_store_statements_total`): there, they are the cost.
"""

from __future__ import annotations

import threading
from collections import Counter

from pymongo import monitoring

# Where a write command carries its statements (one per document written, updated or deleted).
STATEMENTS = {"insert": "documents", "update": "updates", "delete": "deletes"}


class StoreCommandCounter(monitoring.CommandListener):
    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.statements: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        # CRUD commands name their collection as the command's value ({"find": "orders"}), getMore in a field of
        # its own; others (ping) have none.
        target = event.command.get("collection" if event.command_name == "getMore" else event.command_name)
        collection = target if isinstance(target, str) else ""
        carried = event.command.get(STATEMENTS.get(event.command_name, ""))
        statements = len(carried) if isinstance(carried, list) else 1
        with self._lock:
            self.counts[event.command_name, collection] += 1
            self.statements[event.command_name, collection] += statements

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self.counts)

    def statements_snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self.statements)


STORE_COMMANDS = StoreCommandCounter()
_installed = False


def count_store_commands() -> None:
    """Count every command of every client created from now on in this process (idempotent)."""
    global _installed
    if not _installed:
        monitoring.register(STORE_COMMANDS)
        _installed = True
