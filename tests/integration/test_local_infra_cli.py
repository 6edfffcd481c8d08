"""`fulfillment-infra` on a private stack (own ports and data dir), so stopping it harms no other test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.local import kafka_users
from deploy.local.layout import LocalLayout
from tests.integration.conftest import Infrastructure
from tests.processes import REPO_ROOT, ServiceProcess
from tests.stack import free_port


def infra(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy.local", *args],
        cwd=REPO_ROOT,
        # Without the main stack's server variables: they would make the private servers "external".
        env={
            **{k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL")},
            **env,
        },
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture(scope="module")
def private_stack(tmp_path_factory: pytest.TempPathFactory, infrastructure: Infrastructure) -> Iterator[dict[str, str]]:
    env = {
        "FULFILLMENT_LOCAL_DIR": str(tmp_path_factory.mktemp("stack")),
        # Reuse the downloaded jars and built binary of the main stack.
        "FULFILLMENT_CACHE_DIR": str(LocalLayout.from_env().cache),
        "FULFILLMENT_KAFKA_PORT": str(free_port()),
        "FULFILLMENT_KAFKA_CONTROLLER_PORT": str(free_port()),
        "FULFILLMENT_MONGO_PORT": str(free_port()),
    }
    first = infra(env, "up")
    assert first.returncode == 0, first.stderr
    yield env
    infra(env, "down")


def pids(env: dict[str, str]) -> dict[str, str]:
    run = Path(env["FULFILLMENT_LOCAL_DIR"]) / "run"
    return {name: (run / f"{name}.pid").read_text().strip() for name in ("kafka", "ferretdb")}


def test_up_twice_does_not_start_a_second_broker(private_stack: dict[str, str]) -> None:
    before = pids(private_stack)
    second = infra(private_stack, "up")
    assert second.returncode == 0, second.stderr
    assert "kafka: already running" in second.stdout and "ferretdb: already running" in second.stdout
    assert pids(private_stack) == before


def test_status_reports_both_servers_ready(private_stack: dict[str, str]) -> None:
    status = infra(private_stack, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    lines = status.stdout.splitlines()
    assert any(line.startswith("kafka") and " ready" in line for line in lines), lines
    assert any(line.startswith("ferretdb") and " ready" in line for line in lines), lines


def test_the_broker_users_are_made_at_format_time_and_kept_private(private_stack: dict[str, str]) -> None:
    root = Path(private_stack["FULFILLMENT_LOCAL_DIR"])
    users = root / "data" / "kafka-users.json"
    config = root / "run" / "kafka" / "server.properties"

    assert users.stat().st_mode & 0o777 == 0o600
    assert set(json.loads(users.read_text())["users"]) == set(kafka_users.USER_NAMES)
    assert config.stat().st_mode & 0o777 == 0o600


def test_ready_is_503_with_a_reason_when_the_broker_goes_down(private_stack: dict[str, str], tmp_path: Path) -> None:
    kafka = f"127.0.0.1:{private_stack['FULFILLMENT_KAFKA_PORT']}"
    layout = LocalLayout(Path(private_stack["FULFILLMENT_LOCAL_DIR"]), Path(private_stack["FULFILLMENT_CACHE_DIR"]))
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "MONGODB_URL": f"mongodb://127.0.0.1:{private_stack['FULFILLMENT_MONGO_PORT']}",
        # The private broker's own users, made when `up` formatted its storage.
        **kafka_users.client_env("orders", layout),
    }
    service = ServiceProcess("orders", free_port(), env, tmp_path / "orders.log").start()
    try:
        service.wait_ready()
        # Stop only the broker of the private stack, by its pid, as `down` would.
        os.kill(int(pids(private_stack)["kafka"]), 15)
        deadline = time.monotonic() + 60
        ready = httpx.get(f"{service.url}/ready", timeout=10)
        while ready.status_code == 200 and time.monotonic() < deadline:
            time.sleep(1)
            ready = httpx.get(f"{service.url}/ready", timeout=10)
        health = httpx.get(f"{service.url}/health", timeout=10)
    finally:
        service.terminate()

    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready" and "kafka" in body["reasons"] and "store" not in body["reasons"]
    assert health.status_code == 200


def test_down_stops_what_up_started(private_stack: dict[str, str]) -> None:
    down = infra(private_stack, "down")
    assert down.returncode == 0, down.stderr
    status = infra(private_stack, "status")
    assert status.returncode == 1 and "not running" in status.stdout


def test_reset_wipes_the_data_but_keeps_the_downloads(private_stack: dict[str, str]) -> None:
    data = Path(private_stack["FULFILLMENT_LOCAL_DIR"]) / "data"
    assert (data / "kafka" / "meta.properties").exists()  # formatted by `up`
    reset = infra(private_stack, "reset")
    assert reset.returncode == 0, reset.stderr
    assert not data.exists()
    assert (Path(private_stack["FULFILLMENT_CACHE_DIR"]) / "kafka" / "libs" / ".complete").exists()


def test_a_storage_formatted_before_the_broker_had_users_is_reported(tmp_path: Path) -> None:
    env = {
        "FULFILLMENT_LOCAL_DIR": str(tmp_path),
        "FULFILLMENT_CACHE_DIR": str(LocalLayout.from_env().cache),
        "FULFILLMENT_KAFKA_PORT": str(free_port()),
        "FULFILLMENT_KAFKA_CONTROLLER_PORT": str(free_port()),
        "FULFILLMENT_MONGO_PORT": str(free_port()),
    }
    storage = tmp_path / "data" / "kafka"
    storage.mkdir(parents=True)
    (storage / "meta.properties").write_text("version=1\nnode.id=1\n")

    result = infra(env, "up")

    assert result.returncode == 1
    assert "formatted without SASL/SCRAM users" in result.stderr, result.stderr
    assert "fulfillment-infra reset" in result.stderr
    assert not (tmp_path / "run" / "kafka.pid").exists()
