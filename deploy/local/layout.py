"""Where the local infrastructure keeps its downloads, builds, data, logs and pid files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class LocalLayout:
    """All state lives under one git-ignored folder, so `reset` and a fresh clone are simple."""

    root: Path

    @classmethod
    def from_env(cls) -> LocalLayout:
        return cls(Path(os.environ.get("FULFILLMENT_LOCAL_DIR", REPO_ROOT / ".local")).resolve())

    # Downloads and builds are kept across `reset`: they are slow to make and hold no state.
    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"
