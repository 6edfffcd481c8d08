"""Round trips to the store, counted per command name for the whole process (PyMongo command monitoring).

The cost of this system on FerretDB is the number of round trips, so it is a metric of its own
(`fulfillment_store_commands_total{command=...}` at /metrics); the order benchmark divides it by orders.
"""

from __future__ import annotations

import threading
from collections import Counter

from pymongo import monitoring


class StoreCommandCounter(monitoring.CommandListener):
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        with self._lock:
            self.counts[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


STORE_COMMANDS = StoreCommandCounter()
_installed = False


def count_store_commands() -> None:
    """Count every command of every client created from now on in this process (idempotent)."""
    global _installed
    if not _installed:
        monitoring.register(STORE_COMMANDS)
        _installed = True
