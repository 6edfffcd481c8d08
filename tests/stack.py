"""The four services running as real processes against the real broker and store, and ways to look at them."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from cli.tokens import bearer
from tests.processes import SERVICE_MODULES, ServiceProcess

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningStack:
    env: dict[str, str]
    log_dir: Path
    # Processes per service: the first is the one tests talk to over HTTP; any replica serves any request.
    replicas: int = 1
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    extra: dict[str, list[ServiceProcess]] = field(default_factory=dict)

    def start(self, *names: str) -> None:
        """Start the named services (all by default), each with `replicas` processes; dead ones start again."""
        for name in names or tuple(SERVICE_MODULES):
            port = self.services[name].port if name in self.services else free_port()
            self.services[name] = ServiceProcess(name, port, self.env, self.log_dir / f"{name}.log").start()
            extras = self.extra.setdefault(name, [])
            for index, replica in enumerate(extras):
                if replica.proc is None or replica.proc.poll() is not None:
                    extras[index] = ServiceProcess(name, replica.port, self.env, replica.log_path).start()
            while len(extras) < self.replicas - 1:
                self.add_replica(name, wait=False)
        for name in names or tuple(SERVICE_MODULES):
            self.services[name].wait_ready()
            for replica in self.extra.get(name, []):
                replica.wait_ready()

    def add_replica(self, name: str, *, wait: bool = True) -> ServiceProcess:
        index = len(self.extra.setdefault(name, [])) + 1
        replica = ServiceProcess(name, free_port(), self.env, self.log_dir / f"{name}-{index}.log").start()
        self.extra[name].append(replica)
        if wait:
            replica.wait_ready()
        return replica

    def remove_replica(self, replica: ServiceProcess) -> None:
        """SIGTERM one extra process, which the stack then forgets (a scale-down)."""
        replica.terminate()
        self.extra[replica.service].remove(replica)

    def stop(self) -> None:
        for service in (*self.services.values(), *(r for rs in self.extra.values() for r in rs)):
            if service.proc is not None and service.proc.poll() is None:
                service.terminate()

    def terminate(self, name: str) -> None:
        """SIGTERM every process of the service: the service is down (an orderly stop), until `start(name)`."""
        for process in (self.services[name], *self.extra.get(name, [])):
            if process.proc is not None and process.proc.poll() is None:
                process.terminate()

    def kill(self, name: str) -> None:
        """SIGKILL every process of the service: the service is down (a crash), until `start(name)`."""
        for process in (self.services[name], *self.extra.get(name, [])):
            if process.proc is not None and process.proc.poll() is None:
                process.kill()

    def url(self, name: str) -> str:
        return self.services[name].url

    async def get(self, name: str, path: str, *, as_role: str = "manager", **params: Any) -> httpx.Response:
        """GET with a dev token for `as_role` (the manager reads everything)."""
        async with httpx.AsyncClient(base_url=self.url(name), timeout=10, headers=bearer(as_role)) as client:
            return await client.get(path, params=params)

    async def json(self, name: str, path: str, **params: Any) -> Any:
        response = await self.get(name, path, **params)
        return response.json() if response.status_code == 200 else None


async def eventually(
    probe: Callable[[], Awaitable[T]], until: Callable[[T], bool], *, within: float = 60.0, what: str = "condition"
) -> T:
    """Poll `probe` until `until(result)`; on time-out fail with the last thing seen."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        try:
            if until(last):
                return last
        except (KeyError, TypeError, IndexError):
            pass
        await asyncio.sleep(0.25)
    raise AssertionError(f"{what} not reached within {within:.0f}s; last seen: {last!r}")
