"""The nemesis: at the planned moments it kill -9s a service replica (and starts it again after a while),
hard-bounces the broker (kill -9, restart on the same data dir) or restarts FerretDB.

Each fault keeps its own moment — a kill may well strike while the broker is down — except that the broker
and FerretDB are hurt one at a time (a second bounce of a broker still starting would be no new fault)."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

from benchmarks.chaos.cluster import PrivateCluster
from benchmarks.chaos.fleet import Fleet, Replica
from benchmarks.chaos.narrator import Narrator
from benchmarks.chaos.scenario import Fault


@dataclass
class Nemesis:
    fleet: Fleet
    cluster: PrivateCluster
    narrator: Narrator
    rng: random.Random
    kills: int = 0
    bounces: int = 0
    store_restarts: int = 0
    last_fault_over: float | None = None  # monotonic time the last fault was healed
    _revivals: list[asyncio.Task[None]] = field(default_factory=list)
    _servers: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def run(self, faults: tuple[Fault, ...], started: float) -> None:
        await asyncio.gather(*(self._at(started + fault.at_s, fault) for fault in faults))
        await asyncio.gather(*self._revivals)
        self.last_fault_over = time.monotonic()

    async def _at(self, moment: float, fault: Fault) -> None:
        await asyncio.sleep(max(0.0, moment - time.monotonic()))
        if fault.kind == "kill":
            await self.kill(fault)
            return
        async with self._servers:
            await self.hurt_server(fault)

    async def hurt_server(self, fault: Fault) -> None:
        if fault.kind == "bounce":
            self.narrator.say(f"fault: kill -9 kafka, restart after {fault.downtime_s:.1f}s")
            started = time.monotonic()
            await asyncio.to_thread(self.cluster.bounce_broker, fault.downtime_s)
            self.bounces += 1
            self.narrator.say(f"fault: kafka serving again after {time.monotonic() - started:.1f}s")
        else:
            self.narrator.say(f"fault: kill -9 ferretdb, restart after {fault.downtime_s:.1f}s")
            await asyncio.to_thread(self.cluster.restart_store, fault.downtime_s)
            self.store_restarts += 1
            self.narrator.say("fault: ferretdb serving again")

    async def kill(self, fault: Fault) -> None:
        victim = self._victim(fault.service)
        if victim is None:
            # Every replica is still starting after earlier kills: this kill waits for one, so that a run makes
            # the kills it was asked for (one that skipped them would prove less than it says).
            self.narrator.say(f"fault: no replica up to kill (wanted {fault.service}); waiting for one")
            while victim is None:
                await asyncio.sleep(1.0)
                victim = self._victim(fault.service)
        pid = await self.fleet.kill(victim)
        self.kills += 1
        self.narrator.say(f"fault: kill -9 {victim.name} (pid {pid}); back in {fault.downtime_s:.1f}s")
        self._revivals.append(asyncio.create_task(self._revive(victim, fault.downtime_s)))

    def _victim(self, service: str) -> Replica | None:
        """A replica of the planned service that is up, else any replica that is up."""
        up = [replica for replica in self.fleet.of(service) if replica.up]
        up = up or [replica for replica in self.fleet.replicas if replica.up]
        return self.rng.choice(up) if up else None

    async def _revive(self, replica: Replica, downtime_s: float) -> None:
        await asyncio.sleep(downtime_s)
        took = await self.fleet.restart(replica)
        self.narrator.say(f"fault: {replica.name} ready again ({took:.1f}s to start)")
