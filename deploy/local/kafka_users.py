"""The local broker's SCRAM users: made when its storage is formatted, kept beside the data (mode 600).

The passwords are generated on this machine at `kafka-storage format` time (nothing secret is in the repository)
and read back by everything the project starts locally: the services (each as its own user), the tests, the demo
and the benchmarks (the admin user, or the storefront, warehouse and carrier users for the outside world).
Standard library only: the demo and the chaos harness use it, and they may not import the services' `shared`
package. So the user names are repeated here from `shared/contracts/kafka_access.py` (a unit test keeps the two
equal), and the topics and ACLs of a stack are made by `deploy.local.kafka_acls` in a child process (`grant`).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deploy.local.layout import REPO_ROOT, LocalLayout

MECHANISM = "SCRAM-SHA-512"
PROTOCOL = "SASL_PLAINTEXT"
ADMIN = "admin"
# The admin, then one user per service and per outside producer (shared/contracts/kafka_access.py).
USER_NAMES = (
    ADMIN,
    "orders",
    "inventory",
    "shipping",
    "customer_service",
    "reporting",
    "storefront",
    "warehouse",
    "carrier",
    "reviews",
)


class MissingCredentials(RuntimeError):
    pass


def credentials_file(layout: LocalLayout) -> Path:
    # Under data/: `fulfillment-infra reset` wipes it with the storage the users live in, and the next format
    # makes both again.
    return layout.data / "kafka-users.json"


def generate(layout: LocalLayout, names: Sequence[str] = USER_NAMES) -> dict[str, str]:
    """New random passwords for `names`, written (mode 600) before the storage is formatted with them."""
    passwords = {name: secrets.token_urlsafe(24) for name in names}
    path = credentials_file(layout)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"mechanism": MECHANISM, "users": passwords}, handle, indent=2)
    return passwords


def load(layout: LocalLayout) -> dict[str, str] | None:
    """The users' passwords, or None when the local broker was never formatted with users."""
    path = credentials_file(layout)
    if not path.exists():
        return None
    users = json.loads(path.read_text())["users"]
    return {str(name): str(password) for name, password in users.items()}


def password(layout: LocalLayout, user: str) -> str:
    users = load(layout)
    if users is None:
        raise MissingCredentials(
            f"no Kafka users at {credentials_file(layout)}: start the local broker (`uv run fulfillment-infra up`)"
        )
    if user not in users:
        raise MissingCredentials(
            f"Kafka user {user!r} is not among the local broker's users ({', '.join(sorted(users))}); users are made "
            "when the storage is formatted: `uv run fulfillment-infra reset` and `up` make the new ones"
        )
    return users[user]


def client_env(user: str, layout: LocalLayout | None = None) -> dict[str, str]:
    """The environment a service or tool process needs to connect to the local broker as `user`."""
    layout = layout or LocalLayout.from_env()
    return {
        "KAFKA_SECURITY_PROTOCOL": PROTOCOL,
        "KAFKA_SASL_MECHANISM": MECHANISM,
        "KAFKA_SASL_USERNAME": user,
        "KAFKA_SASL_PASSWORD": password(layout, user),
    }


def external_broker() -> bool:
    """Whether this process was pointed at someone else's broker (then its KAFKA_* name the user)."""
    return "KAFKA_BOOTSTRAP_SERVERS" in os.environ or "KAFKA_SECURITY_PROTOCOL" in os.environ


def local_broker(layout: LocalLayout | None = None) -> bool:
    """Whether this process talks to the project's own broker, with its users and ACLs."""
    return not external_broker() and load(layout or LocalLayout.from_env()) is not None


def tool_env(user: str, layout: LocalLayout | None = None) -> dict[str, str]:
    """KAFKA_* for a tool (tests, demo, benchmarks) connecting as `user`: the environment's own on someone else's
    broker, else the local broker's user, else nothing (a broker without authentication, e.g. testcontainers')."""
    if external_broker():
        return {name: value for name, value in os.environ.items() if name.startswith(("KAFKA_SECURITY", "KAFKA_SASL"))}
    layout = layout or LocalLayout.from_env()
    if load(layout) is None:
        return {}
    return client_env(user, layout)


def aiokafka_kwargs(user: str, layout: LocalLayout | None = None) -> dict[str, Any]:
    """For the demo, which may not import `shared.messaging.kafka_security`: the same arguments it makes from
    these variables (SASL only; the demo never talks TLS)."""
    return kwargs_from_env(tool_env(user, layout))


def kwargs_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    if not env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").startswith("SASL_"):
        return {}
    return {
        "security_protocol": env["KAFKA_SECURITY_PROTOCOL"],
        "sasl_mechanism": env.get("KAFKA_SASL_MECHANISM", MECHANISM),
        "sasl_plain_username": env["KAFKA_SASL_USERNAME"],
        "sasl_plain_password": env["KAFKA_SASL_PASSWORD"],
    }


def grant(bootstrap: str, prefix: str, admin_env: Mapping[str, str]) -> None:
    """The topics and every user's ACLs of the stack under `prefix`, made by the admin (`admin_env`) in a child
    process, so that this module's users need not import the services' `shared` package."""
    result = subprocess.run(
        [sys.executable, "-m", "deploy.local.kafka_acls", "--bootstrap", bootstrap, "--prefix", prefix],
        env={**os.environ, **admin_env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"granting Kafka ACLs for prefix {prefix!r} failed:\n{result.stdout}{result.stderr}")
