"""`fulfillment-infra up|down|status|reset`: the local Kafka broker and MongoDB-wire server
(and, with `up --services`, the four services on their contract ports, or where `<SERVICE>_HTTP_PORT` says).

When `KAFKA_BOOTSTRAP_SERVERS` or `MONGODB_URL` is set, that server is someone else's: it is checked,
never started or stopped (with `KAFKA_SECURITY_PROTOCOL` / `KAFKA_SASL_USERNAME` / `KAFKA_SASL_PASSWORD` as its
user). The local broker authenticates every client: `up` formats its storage with a SCRAM user per service and
outside producer (`.local/data/kafka-users.json`), then creates the topics and the ACLs as its admin.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass

from deploy.local import kafka_users
from deploy.local.ferretdb import FerretDBNode, mongo_answers
from deploy.local.kafka import KafkaNode, cluster_answers
from deploy.local.layout import LocalLayout
from deploy.local.process import InfraError, ManagedProcess, port_open, rss_mib
from deploy.local.services import local_services
from shared.messaging.kafka_security import KafkaSecurity


@dataclass(frozen=True)
class Server:
    """One server of the local stack, or an external one named by the environment."""

    name: str
    address: str
    external: bool
    host: str
    port: int
    process: ManagedProcess
    install: Callable[[], None]
    start: Callable[[], None]
    healthy: Callable[[], bool]
    # After a start, or on a server that was already running: idempotent (topics, ACLs).
    provision: Callable[[], None] = lambda: None


def servers(layout: LocalLayout) -> list[Server]:
    kafka = KafkaNode(layout, port=layout.kafka_port, controller_port=layout.kafka_controller_port)
    ferret = FerretDBNode(layout, port=layout.mongo_port)
    kafka_env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    mongo_env = os.environ.get("MONGODB_URL")

    def kafka_healthy() -> bool:
        if kafka_env:
            admin = KafkaSecurity.from_env()
        else:
            # A broker still running from a storage made before it had users answers without any (see `up`).
            admin = KafkaSecurity.from_env(kafka_users.tool_env(kafka_users.ADMIN, layout))
        return cluster_answers(kafka_env or kafka.bootstrap, admin.client_kwargs())

    def kafka_grant() -> None:
        if kafka_users.load(layout) is not None:
            kafka.grant()

    return [
        Server(
            "kafka",
            kafka_env or kafka.bootstrap,
            kafka_env is not None,
            kafka.host,
            kafka.port,
            kafka.process,
            kafka.install,
            kafka.start,
            kafka_healthy,
            kafka_grant,
        ),
        Server(
            "ferretdb",
            mongo_env or ferret.url,
            mongo_env is not None,
            ferret.host,
            ferret.port,
            ferret.process,
            ferret.install,
            ferret.start,
            lambda: mongo_answers(mongo_env or ferret.url),
        ),
    ]


def up(layout: LocalLayout) -> None:
    for server in servers(layout):
        if server.external:
            if not server.healthy():
                raise InfraError(f"{server.name}: the external server at {server.address} does not answer")
            print(f"{server.name}: using external server at {server.address}")
            continue
        pid = server.process.pid()
        if pid is not None:
            if server.name == "kafka" and kafka_users.load(layout) is None:
                print(
                    f"kafka: WARNING: running (pid {pid}) from a storage formatted before the broker had users, so "
                    "WITHOUT authentication or ACLs; `uv run fulfillment-infra reset` and `up` make them "
                    "(wiping the local data)",
                    file=sys.stderr,
                )
            if not server.healthy():
                raise InfraError(
                    f"{server.name}: running (pid {pid}) but not answering at {server.address}; "
                    f"see {server.process.log_file} or run `fulfillment-infra down`"
                )
            server.provision()
            print(f"{server.name}: already running at {server.address} (pid {pid})")
            continue
        if port_open(server.host, server.port):
            raise InfraError(
                f"{server.name}: port {server.port} is in use by a process this tool did not start; "
                f"stop it, or point the services at it with the environment variable for {server.name}"
            )
        server.install()
        server.start()
        server.provision()
        print(f"{server.name}: started at {server.address} (pid {server.process.pid()}, log {server.process.log_file})")


def up_services(layout: LocalLayout) -> None:
    kafka, mongo = servers(layout)
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.address, "MONGODB_URL": mongo.address}
    for service in local_services(layout):
        pid = service.process.pid()
        if pid is not None:
            print(f"{service.name}: already running at {service.url} (pid {pid})")
            continue
        if port_open("127.0.0.1", service.port):
            raise InfraError(f"{service.name}: port {service.port} is in use by a process this tool did not start")
        kafka_env = service_kafka_env(layout, service.name, external=kafka.external) if service.uses_kafka else {}
        service.start({**env, **kafka_env})
        print(f"{service.name}: started at {service.url} (pid {service.process.pid()}, log {service.process.log_file})")


def service_kafka_env(layout: LocalLayout, service: str, external: bool) -> dict[str, str]:
    """The service's own Kafka user on the local broker; on someone else's, whatever KAFKA_* the environment has."""
    if external:
        return KafkaSecurity.from_env().env()
    return kafka_users.tool_env(service, layout)


def down(layout: LocalLayout) -> None:
    for service in local_services(layout):
        if service.process.stop():
            print(f"{service.name}: stopped")
    for server in reversed(servers(layout)):
        if server.external:
            continue
        print(f"{server.name}: {'stopped' if server.process.stop() else 'was not running'}")


def status(layout: LocalLayout) -> bool:
    all_healthy = True
    for server in servers(layout):
        pid = None if server.external else server.process.pid()
        healthy = server.healthy()
        all_healthy &= healthy
        owner = "external" if server.external else (f"pid {pid}" if pid else "not running")
        memory = f", RSS {rss:.0f} MiB" if pid and (rss := rss_mib(pid)) else ""
        print(_status_line(server.name, server.address, owner, healthy, memory))
    for service in local_services(layout):
        if (pid := service.process.pid()) is None:
            continue
        healthy = service.ready()
        all_healthy &= healthy
        rss = rss_mib(pid)
        print(_status_line(service.name, service.url, f"pid {pid}", healthy, f", RSS {rss:.0f} MiB" if rss else ""))
    return all_healthy


def _status_line(name: str, address: str, owner: str, healthy: bool, memory: str) -> str:
    return f"{name:17} {address:28} {owner:12} {'ready' if healthy else 'NOT ANSWERING'}{memory}"


def reset(layout: LocalLayout) -> None:
    down(layout)
    shutil.rmtree(layout.data, ignore_errors=True)
    print(f"wiped {layout.data}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fulfillment-infra", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "reset"])
    parser.add_argument("--services", action="store_true", help="with up: also start the four services")
    args = parser.parse_args(argv)
    layout = LocalLayout.from_env()
    try:
        if args.command == "up":
            up(layout)
            if args.services:
                up_services(layout)
        elif args.command == "down":
            down(layout)
        elif args.command == "status":
            return 0 if status(layout) else 1
        else:
            reset(layout)
    except InfraError as error:
        print(f"fulfillment-infra {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
