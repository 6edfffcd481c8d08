"""The harness's own Kafka broker and FerretDB: private ports and data dir, because it kills them.

Built from the project's local-infrastructure pieces (`deploy/local`), with the shared download cache, so a
run neither downloads nor builds anything, and never touches the servers other people use.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.local.ferretdb import FerretDBNode
from deploy.local.kafka import KafkaNode
from deploy.local.kafka_users import kwargs_from_env
from deploy.local.layout import LocalLayout
from deploy.local.process import ManagedProcess
from tests.stack import free_port


@dataclass(frozen=True)
class PrivateCluster:
    layout: LocalLayout
    kafka: KafkaNode
    ferretdb: FerretDBNode

    @classmethod
    def under(cls, root: Path, cache: Path) -> PrivateCluster:
        layout = LocalLayout(
            root=root,
            cache=cache,
            kafka_port=free_port(),
            kafka_controller_port=free_port(),
            mongo_port=free_port(),
        )
        kafka = KafkaNode(layout, port=layout.kafka_port, controller_port=layout.kafka_controller_port)
        return cls(layout, kafka, FerretDBNode(layout, port=layout.mongo_port))

    @property
    def bootstrap(self) -> str:
        return self.kafka.bootstrap

    @property
    def mongodb_url(self) -> str:
        return self.ferretdb.url

    def start(self) -> None:
        """Blocking (the nodes poll until they answer): call it from a worker thread."""
        for node in (self.kafka, self.ferretdb):
            node.install()  # a no-op with the shared cache filled; builds only if it is not
            node.start()
        # The broker authenticates every client: its topics and the services' ACLs, made by its admin.
        self.kafka.grant()

    def client_env(self, user: str) -> dict[str, str]:
        """KAFKA_* of this broker's `user` (made when its storage was formatted)."""
        return self.kafka.client_env(user)

    def client_kwargs(self, user: str) -> dict[str, Any]:
        return kwargs_from_env(self.client_env(user))

    def bounce_broker(self, downtime_s: float) -> None:
        """kill -9, then start again on the same data dir: an unclean shutdown, log recovery on start."""
        hard_kill(self.kafka.process)
        time.sleep(downtime_s)
        self.kafka.start()

    def restart_store(self, downtime_s: float) -> None:
        hard_kill(self.ferretdb.process)
        time.sleep(downtime_s)
        self.ferretdb.start()

    def stop(self) -> None:
        for process in (self.kafka.process, self.ferretdb.process):
            process.stop(timeout=15)


def hard_kill(process: ManagedProcess) -> int | None:
    """SIGKILL by pid and wait until it is gone (reaped, since we started it)."""
    pid = process.pid()
    if pid is None:
        return None
    os.kill(pid, signal.SIGKILL)
    while process.pid() is not None:
        time.sleep(0.05)
    return pid
