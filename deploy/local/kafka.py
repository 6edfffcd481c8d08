"""Apache Kafka 4.x, single combined KRaft node, from Maven Central jars (no Docker engine here)."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.local import kafka_users
from deploy.local.layout import HERE, LocalLayout
from deploy.local.process import InfraError, ManagedProcess, port_open, wait_until

POM = HERE / "kafka" / "pom.xml"

# Small-box JVM: the broker idles at a few hundred MiB and must leave room for four services.
JVM_FLAGS = [
    "-Xms128m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Djava.awt.headless=true",
]


def jvm_flags() -> list[str]:
    """FULFILLMENT_KAFKA_JVM_FLAGS (space-separated) replaces JVM_FLAGS for the broker, to measure others."""
    override = os.environ.get("FULFILLMENT_KAFKA_JVM_FLAGS")
    return override.split() if override else list(JVM_FLAGS)


@dataclass(frozen=True)
class KafkaNode:
    layout: LocalLayout
    host: str = "127.0.0.1"
    port: int = 9092
    controller_port: int = 9093

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def libs(self) -> Path:
        return self.layout.cache / "kafka" / "libs"

    @property
    def data_dir(self) -> Path:
        return self.layout.data / "kafka"

    @property
    def config_file(self) -> Path:
        return self.layout.run / "kafka" / "server.properties"

    @property
    def process(self) -> ManagedProcess:
        return ManagedProcess("kafka", self.layout.run / "kafka.pid", self.layout.logs / "kafka.log")

    def install(self) -> None:
        """Resolve the broker's jars once into the cache; later runs reuse them."""
        if (self.libs / ".complete").exists():
            return
        _require("java", "a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)")
        _require("mvn", "Apache Maven (Debian: apt-get install maven)")
        self.libs.mkdir(parents=True, exist_ok=True)
        print(f"kafka: resolving broker jars from Maven Central into {self.libs} (first run only)")
        result = subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(POM),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={self.libs}",
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise InfraError(
                f"kafka: mvn could not resolve the broker jars:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        (self.libs / ".complete").touch()

    def _java(self, main: str, *args: str, heap: list[str] | None = None) -> list[str]:
        log_config = HERE / "kafka" / "log4j2.properties"
        return [
            "java",
            *(heap or jvm_flags()),
            f"-Dlog4j2.configurationFile={log_config}",
            "-cp",
            f"{self.libs}/*",
            main,
            *args,
        ]

    @property
    def formatted(self) -> bool:
        return (self.data_dir / "meta.properties").exists()

    def client_env(self, user: str = kafka_users.ADMIN) -> dict[str, str]:
        """KAFKA_* for a client of this broker as `user` (one of its SCRAM users)."""
        return kafka_users.client_env(user, self.layout)

    def grant(self, prefix: str = "") -> None:
        """Topics and ACLs for the stack under `prefix` (the production names by default)."""
        kafka_users.grant(self.bootstrap, prefix, self.client_env())

    def check_users(self) -> None:
        """A storage formatted before the broker had users (plain, unauthenticated) cannot be upgraded in place."""
        users = kafka_users.load(self.layout)
        if self.formatted and users is None:
            raise InfraError(
                f"kafka: {self.data_dir} was formatted without SASL/SCRAM users (before Kafka authentication), "
                f"so no client could connect; run `uv run fulfillment-infra reset` (wipes the local data) and `up`"
            )
        missing = [name for name in kafka_users.USER_NAMES if users is not None and name not in users]
        if missing:
            raise InfraError(
                f"kafka: the local broker has no user for {', '.join(missing)} (users are made at storage format "
                f"time); run `uv run fulfillment-infra reset` (wipes the local data) and `up`"
            )

    def write_config(self) -> None:
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        template = (HERE / "kafka" / "server.properties").read_text()
        text = template.format(
            host=self.host,
            port=self.port,
            controller_port=self.controller_port,
            log_dirs=self.data_dir,
            admin_user=kafka_users.ADMIN,
            admin_password=kafka_users.password(self.layout, kafka_users.ADMIN),
        )
        # It holds the admin's password.
        self.config_file.touch(mode=0o600)
        self.config_file.chmod(0o600)
        self.config_file.write_text(text)

    def format_storage(self) -> None:
        """Format the KRaft log dir once, with a SCRAM user per service and outside producer (`--add-scram`);
        a formatted dir is reused as it is."""
        if self.formatted:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        passwords = kafka_users.generate(self.layout)
        self.write_config()
        scram = [
            argument
            for name, secret in passwords.items()
            for argument in ("--add-scram", f"{kafka_users.MECHANISM}=[name={name},password={secret}]")
        ]
        # A Kafka Uuid in base64url; like Uuid.randomUuid(), avoid a leading '-' (it reads as a flag).
        cluster_id = "-"
        while cluster_id.startswith("-"):
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        result = subprocess.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                "--cluster-id",
                cluster_id,
                "--config",
                str(self.config_file),
                *scram,
                heap=["-Xmx256m", "-XX:+UseSerialGC"],
            ),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            kafka_users.credentials_file(self.layout).unlink(missing_ok=True)
            raise InfraError(f"kafka: formatting {self.data_dir} failed:\n{result.stdout}{result.stderr}")

    def start(self, timeout: float = 90.0) -> None:
        self.check_users()
        self.format_storage()
        self.write_config()
        self.process.start(self._java("kafka.Kafka", str(self.config_file)))
        # Kafka 4.x opens the client port only once the broker is unfenced, so a connect means "serving".
        wait_until(lambda: port_open(self.host, self.port), timeout=timeout, process=self.process, what="kafka")
        admin = kafka_users.kwargs_from_env(self.client_env())
        wait_until(
            lambda: cluster_answers(self.bootstrap, admin), timeout=30, process=self.process, what="kafka metadata"
        )


def cluster_answers(bootstrap: str, client_kwargs: dict[str, Any], timeout_s: float = 5.0) -> bool:
    """A real metadata round trip as the user of `client_kwargs` (aiokafka's), not just an open port."""
    from aiokafka.admin import AIOKafkaAdminClient

    async def probe() -> bool:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000), **client_kwargs
        )
        try:
            await asyncio.wait_for(admin.start(), timeout_s)
            await asyncio.wait_for(admin.describe_cluster(), timeout_s)
            return True
        except Exception:
            return False
        finally:
            await admin.close()

    return asyncio.run(probe())


def _require(command: str, what: str) -> None:
    if shutil.which(command) is None:
        raise InfraError(f"`{command}` not found on PATH: install {what}")
