"""What the harness tells the person watching: one line per event, stamped with the seconds since start."""

from __future__ import annotations

import sys
import time


class Narrator:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, message: str) -> None:
        print(f"[{self.elapsed():7.1f}s] {message}", file=sys.stdout, flush=True)
