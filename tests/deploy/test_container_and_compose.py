"""The Dockerfile and the compose file cannot be built here (no Docker engine): check what can be read."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import yaml

from shared.contracts.topics import DEFAULT_PARTITIONS
from tests.deploy.manifests import ROOT, services_in_code

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
COMPOSE = ROOT / "deploy" / "compose" / "compose.yaml"


def test_dockerfile_is_multi_stage_locked_and_non_root() -> None:
    stages = re.findall(r"^FROM \S+ AS (\w+)$", DOCKERFILE, flags=re.MULTILINE)
    assert stages == ["build", "runtime"]
    assert "uv sync --frozen --no-dev" in DOCKERFILE
    runtime = DOCKERFILE.split("AS runtime", 1)[1]
    users = re.findall(r"^USER (\S+)$", runtime, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert "COPY --from=build /app/.venv /app/.venv" in runtime


def test_dockerfile_copies_what_the_project_build_needs() -> None:
    copied = set(re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE, flags=re.MULTILINE))
    files = {f for line in copied for f in line.split()}
    # hatchling reads README.md (the project's readme) and builds the wheel's packages: a package added to
    # pyproject.toml must be copied into the image too.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p for p in pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] if (ROOT / p).is_dir()}
    assert {"services", "shared", "deploy"} <= packages
    assert {"pyproject.toml", "uv.lock", "README.md"} | packages <= files


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def test_compose_runs_the_infrastructure_and_every_service() -> None:
    services = _compose()["services"]
    assert {"kafka", "mongodb", "otel-collector"} <= set(services)
    commands = {s["command"][0]: s for s in services.values() if "command" in s and "build" in s}
    assert set(commands) == {s.script for s in services_in_code()}
    for code in services_in_code():
        service = commands[code.script]
        environment = service["environment"]
        assert environment[code.port_env] == str(code.default_port)
        assert f"{code.default_port}:{code.default_port}" in service["ports"]
        assert environment["HTTP_HOST"] == "0.0.0.0"
        assert environment["TOPIC_PARTITIONS"] == str(DEFAULT_PARTITIONS)
        assert "replicaSet=" in environment["MONGODB_URL"]
        assert service["read_only"] is True


def test_compose_mongodb_is_a_replica_set() -> None:
    mongodb = _compose()["services"]["mongodb"]
    assert "--replSet" in mongodb["command"]
    assert "rs.initiate" in " ".join(mongodb["healthcheck"]["test"])
