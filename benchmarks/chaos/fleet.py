"""The four services as OS processes, one or more replicas each (same environment, own HTTP port), that the
harness kills with SIGKILL and starts again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.processes import REPO_ROOT, SERVICE_MODULES, ServiceProcess
from tests.stack import free_port

SERVICES = tuple(SERVICE_MODULES)
# A restarted replica may have to wait for a broker that is itself restarting; give up only after this long.
READY_WITHIN_S = 600.0
STOP_WITHIN_S = 20.0


class FleetError(RuntimeError):
    """A replica could not be brought back: the run cannot go on meaningfully."""


@dataclass
class CheckoutService(ServiceProcess):
    """A service process run from a given checkout of the system (by default this one): the harness can so
    measure a committed version while the working tree is being changed."""

    checkout: Path = REPO_ROOT

    def start(self) -> CheckoutService:
        env = {**os.environ, **self.env, f"{self.service.upper()}_HTTP_PORT": str(self.port)}
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", SERVICE_MODULES[self.service]],
            cwd=self.checkout,  # `-m` imports the checkout's packages before the installed ones
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self


@dataclass
class Replica:
    service: str
    number: int
    process: ServiceProcess
    up: bool = False

    @property
    def name(self) -> str:
        return f"{self.service}#{self.number}"

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def pid(self) -> int | None:
        return None if self.process.proc is None else self.process.proc.pid


class Fleet:
    def __init__(
        self,
        env: dict[str, str],
        log_dir: Path,
        replicas: int,
        checkout: Path = REPO_ROOT,
        kafka_user: Callable[[str], dict[str, str]] = lambda service: {},
    ) -> None:
        """`kafka_user(service)`: the KAFKA_* of the service's own user on the broker."""
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = log_dir
        self.replicas = [
            Replica(
                service,
                n,
                CheckoutService(
                    service, free_port(), {**env, **kafka_user(service)}, log_dir / f"{service}-{n}.log", checkout
                ),
            )
            for service in SERVICES
            for n in range(1, replicas + 1)
        ]

    def of(self, service: str) -> list[Replica]:
        return [replica for replica in self.replicas if replica.service == service]

    def urls(self, service: str) -> list[str]:
        """Replicas believed up; a killed one is left out until it is ready again."""
        return [replica.url for replica in self.of(service) if replica.up]

    async def start(self) -> None:
        for replica in self.replicas:
            replica.process.start()
        await asyncio.gather(*(self._until_ready(replica) for replica in self.replicas))

    async def kill(self, replica: Replica) -> int | None:
        replica.up = False
        pid = replica.pid
        await asyncio.to_thread(replica.process.kill)
        return pid

    async def restart(self, replica: Replica) -> float:
        """Start it again and wait until /ready; returns the seconds that took."""
        started = time.monotonic()
        replica.process.start()
        await self._until_ready(replica)
        return time.monotonic() - started

    async def _until_ready(self, replica: Replica) -> None:
        deadline = time.monotonic() + READY_WITHIN_S
        while time.monotonic() < deadline:
            try:
                await asyncio.to_thread(replica.process.wait_ready, 30.0)
                replica.up = True
                return
            except AssertionError:
                proc = replica.process.proc
                if proc is not None and proc.poll() is not None:
                    # It gave up at start-up (e.g. the broker was down longer than STARTUP_TIMEOUT_S): again.
                    replica.process.kill()  # only closes its log: the process is gone
                    replica.process.start()
        raise FleetError(f"{replica.name} not ready after {READY_WITHIN_S:.0f}s; see {replica.process.log_path}")

    def stop(self) -> None:
        """SIGTERM to all at once, then wait (a wedged replica is killed): stopping one by one would add up."""
        running = [r for r in self.replicas if r.process.proc is not None and r.process.proc.poll() is None]
        for replica in running:
            assert replica.process.proc is not None
            replica.process.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WITHIN_S
        for replica in running:
            try:
                replica.process.terminate(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                replica.process.kill()
