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
    # Downloads and builds are kept across `reset`: they are slow to make and hold no state.
    cache: Path
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    mongo_port: int = 27017

    @classmethod
    def from_env(cls) -> LocalLayout:
        """FULFILLMENT_LOCAL_DIR / _CACHE_DIR / _KAFKA_PORT / ... let a test run a second, private stack."""
        env = os.environ
        root = Path(env.get("FULFILLMENT_LOCAL_DIR", REPO_ROOT / ".local")).resolve()
        return cls(
            root=root,
            cache=Path(env.get("FULFILLMENT_CACHE_DIR", root / "cache")).resolve(),
            kafka_port=int(env.get("FULFILLMENT_KAFKA_PORT", 9092)),
            kafka_controller_port=int(env.get("FULFILLMENT_KAFKA_CONTROLLER_PORT", 9093)),
            mongo_port=int(env.get("FULFILLMENT_MONGO_PORT", 27017)),
        )

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"
