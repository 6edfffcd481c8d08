"""Services run as real OS processes in tests, the way they run in production."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from deploy.local import kafka_users

SERVICE_MODULES = {
    "orders": "services.orders.main",
    "inventory": "services.inventory.main",
    "shipping": "services.shipping.main",
    "customer_service": "services.customer_service.main",
    "reporting": "services.reporting.main",
}
REPO_ROOT = Path(__file__).resolve().parents[1]


_granted: set[tuple[str, str]] = set()


def grant_prefix(bootstrap: str, prefix: str) -> None:
    """Topics and ACLs for a stack under `prefix` on the project's own broker, once per test process (the services'
    users may not create topics nor grant themselves anything); on any other broker, nothing to do."""
    if (bootstrap, prefix) in _granted or not kafka_users.local_broker():
        return
    kafka_users.grant(bootstrap, prefix, kafka_users.tool_env(kafka_users.ADMIN))
    _granted.add((bootstrap, prefix))


@dataclass
class ServiceProcess:
    service: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        # Its own Kafka user (a test's env may still override it), on topics and ACLs made for its prefix.
        # A test that names the user (another broker's) has made that broker's topics and ACLs itself.
        own_user = "KAFKA_SECURITY_PROTOCOL" in self.env
        kafka = {} if own_user else kafka_users.tool_env(self.service)
        env = {**os.environ, **kafka, **self.env, f"{self.service.upper()}_HTTP_PORT": str(self.port)}
        if "KAFKA_BOOTSTRAP_SERVERS" in env and not own_user:
            grant_prefix(env["KAFKA_BOOTSTRAP_SERVERS"], env.get("TOPIC_PREFIX", ""))
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", SERVICE_MODULES[self.service]],
            cwd=REPO_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.service} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{self.service} not ready after {timeout}s:\n{self.output()}")

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait: the way an orchestrator stops a pod."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        """SIGKILL: a crash, nothing gets to clean up."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")
