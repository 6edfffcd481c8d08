"""Apache Kafka 4.x, single combined KRaft node, from Maven Central jars (no Docker engine here)."""

from __future__ import annotations

import asyncio
import base64
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

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
            *(heap or JVM_FLAGS),
            f"-Dlog4j2.configurationFile={log_config}",
            "-cp",
            f"{self.libs}/*",
            main,
            *args,
        ]

    def write_config(self) -> None:
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        template = (HERE / "kafka" / "server.properties").read_text()
        self.config_file.write_text(
            template.format(
                host=self.host,
                port=self.port,
                controller_port=self.controller_port,
                log_dirs=self.data_dir,
            )
        )

    def format_storage(self) -> None:
        """Format the KRaft log dir once; a formatted dir is reused as it is."""
        if (self.data_dir / "meta.properties").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
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
                heap=["-Xmx256m", "-XX:+UseSerialGC"],
            ),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise InfraError(f"kafka: formatting {self.data_dir} failed:\n{result.stdout}{result.stderr}")

    def start(self, timeout: float = 90.0) -> None:
        self.write_config()
        self.format_storage()
        self.process.start(self._java("kafka.Kafka", str(self.config_file)))
        # Kafka 4.x opens the PLAINTEXT port only once the broker is unfenced, so a connect means "serving".
        wait_until(lambda: port_open(self.host, self.port), timeout=timeout, process=self.process, what="kafka")
        wait_until(lambda: cluster_answers(self.bootstrap), timeout=30, process=self.process, what="kafka metadata")


def cluster_answers(bootstrap: str, timeout_s: float = 5.0) -> bool:
    """A real metadata round trip, not just an open port."""
    from aiokafka.admin import AIOKafkaAdminClient

    async def probe() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000))
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
