"""The four services as background processes of the local stack (what the README's run command starts)."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from dataclasses import dataclass

from deploy.local.layout import REPO_ROOT, LocalLayout
from deploy.local.process import ManagedProcess, wait_until

# Ports from CONTRACT.md.
SERVICE_PORTS = {"orders": 8001, "inventory": 8002, "shipping": 8003, "customer_service": 8004}


@dataclass(frozen=True)
class LocalService:
    layout: LocalLayout
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def process(self) -> ManagedProcess:
        return ManagedProcess(self.name, self.layout.run / f"{self.name}.pid", self.layout.logs / f"{self.name}.log")

    def start(self, env: dict[str, str], timeout: float = 60.0) -> None:
        self.process.start(
            [sys.executable, "-m", f"services.{self.name}.main"],
            env={**env, f"{self.name.upper()}_HTTP_PORT": str(self.port)},
            cwd=REPO_ROOT,
        )
        wait_until(self.ready, timeout=timeout, process=self.process, what=self.name)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ready", timeout=3) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False


def local_services(layout: LocalLayout) -> list[LocalService]:
    return [LocalService(layout, name, port) for name, port in SERVICE_PORTS.items()]
