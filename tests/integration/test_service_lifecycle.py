"""Each service starts as a real process, reports health and readiness, and stops cleanly on SIGTERM."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import Infrastructure
from tests.processes import REPO_ROOT, SERVICE_MODULES, ServiceProcess
from tests.stack import free_port


@pytest.mark.parametrize("service", list(SERVICE_MODULES))
def test_service_answers_health_and_ready_and_stops_on_sigterm(
    service: str, infrastructure: Infrastructure, tmp_path: Path
) -> None:
    # A namespace of its own: this lone process must not join the consumer groups of the session's stack.
    env = {**infrastructure.env(), "TOPIC_PREFIX": f"{tmp_path.name}.", "DATABASE_PREFIX": f"lc{abs(hash(tmp_path))}_"}
    proc = ServiceProcess(service, free_port(), env, tmp_path / f"{service}.log").start()
    try:
        proc.wait_ready()
        health = httpx.get(f"{proc.url}/health").json()
        ready = httpx.get(f"{proc.url}/ready")
        docs = httpx.get(f"{proc.url}/docs")
        openapi = httpx.get(f"{proc.url}/openapi.json").json()
        metrics = httpx.get(f"{proc.url}/metrics")
    finally:
        code = proc.terminate()

    assert health == {"status": "ok", "service": service}
    assert ready.status_code == 200 and ready.json()["checks"] == ["kafka", "store", "processing"]
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert "/ready" in openapi["paths"]
    # Prometheus text with the service's own instruments (its start-up already made store round trips).
    assert metrics.status_code == 200 and "fulfillment_store_commands_total" in metrics.text
    assert code == 0, proc.output()


def run_briefly(service: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", SERVICE_MODULES[service]],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_unreachable_broker_is_one_clear_line(infrastructure: Infrastructure) -> None:
    result = run_briefly(
        "orders",
        {
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "MONGODB_URL": infrastructure.mongodb_url,
            "ORDERS_HTTP_PORT": str(free_port()),
            "STARTUP_TIMEOUT_S": "3",
        },
    )
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == 1
    assert len(lines) == 1 and "KAFKA_BOOTSTRAP_SERVERS" in lines[0] and "127.0.0.1:1" in lines[0], lines


def test_an_unreachable_mongodb_is_one_clear_line(infrastructure: Infrastructure) -> None:
    result = run_briefly(
        "inventory",
        {
            "KAFKA_BOOTSTRAP_SERVERS": infrastructure.kafka_bootstrap_servers,
            "MONGODB_URL": "mongodb://127.0.0.1:1",
            "INVENTORY_HTTP_PORT": str(free_port()),
            "STARTUP_TIMEOUT_S": "2",
        },
    )
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == 1
    assert len(lines) == 1 and "MONGODB_URL" in lines[0], lines


def test_a_malformed_mongodb_url_names_the_setting(infrastructure: Infrastructure) -> None:
    result = run_briefly("shipping", {"MONGODB_URL": "postgres://nope"})
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == 2
    assert len(lines) == 1 and lines[0].startswith("invalid setting MONGODB_URL"), lines


def test_a_port_in_use_is_one_clear_line(infrastructure: Infrastructure) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_briefly(
            "customer_service",
            {
                "KAFKA_BOOTSTRAP_SERVERS": infrastructure.kafka_bootstrap_servers,
                "MONGODB_URL": infrastructure.mongodb_url,
                "CUSTOMER_SERVICE_HTTP_PORT": str(port),
            },
        )
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == 1
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0], lines
