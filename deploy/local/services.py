"""The services and the web console as background processes of the local stack (what `./run-system.sh` starts)."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass

from deploy.local.layout import REPO_ROOT, LocalLayout
from deploy.local.process import InfraError, ManagedProcess, wait_until

# Ports from CONTRACT.md, each overridable by `<SERVICE>_HTTP_PORT` as the services themselves read it.
SERVICE_PORTS = {
    "orders": 8001,
    "inventory": 8002,
    "shipping": 8003,
    "customer_service": 8004,
    "reporting": 8005,
    # The web console (console/): no Kafka, only the services' HTTP APIs; /health, not /ready.
    "console": 8010,
}
# Where the console finds the services it calls (the same variables as the CLI's).
CONSOLE_TARGETS = {"CUSTOMER_SERVICE_URL": "customer_service", "SHIPPING_URL": "shipping", "REPORTING_URL": "reporting"}


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

    @property
    def uses_kafka(self) -> bool:
        return self.name != "console"

    def start(self, env: dict[str, str], timeout: float = 60.0) -> None:
        if self.uses_kafka:
            module = f"services.{self.name}.main"
        else:
            module = "console.main"
            env = {**env, **{v: f"http://127.0.0.1:{service_port(s)}" for v, s in CONSOLE_TARGETS.items()}}
        self.process.start(
            [sys.executable, "-m", module],
            env={**env, f"{self.name.upper()}_HTTP_PORT": str(self.port)},
            cwd=REPO_ROOT,
        )
        wait_until(self.ready, timeout=timeout, process=self.process, what=self.name)

    def ready(self) -> bool:
        try:
            probe = "ready" if self.uses_kafka else "health"
            with urllib.request.urlopen(f"{self.url}/{probe}", timeout=3) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False


def local_services(layout: LocalLayout) -> list[LocalService]:
    return [LocalService(layout, name, service_port(name)) for name in SERVICE_PORTS]


def service_port(name: str) -> int:
    """The port the service will bind: its `<SERVICE>_HTTP_PORT` when set, so that `up --services` starts it
    where the service itself would listen (and a second stack can sit beside the first), else the contract's."""
    variable = f"{name.upper()}_HTTP_PORT"
    value = os.environ.get(variable, "").strip()
    if not value:
        return SERVICE_PORTS[name]
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise InfraError(f"{variable}={value!r} is not a port number (1-65535)")
    return int(value)
