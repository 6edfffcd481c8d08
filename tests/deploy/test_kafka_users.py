"""Kafka in Kubernetes authenticates every client and authorizes it per topic: a TLS + SCRAM listener only, and one
Strimzi KafkaUser per user of shared/contracts/kafka_access.py with the same ACLs as the local broker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deploy.k8s import generate_users
from deploy.k8s.generate_users import user_name
from shared.contracts.kafka_access import SERVICE_USERS, USERS, user_named
from tests.deploy.manifests import OVERLAYS, named, of_kind, rendered


def test_committed_users_yaml_is_what_the_generator_writes(tmp_path: Path) -> None:
    committed = generate_users.USERS_FILE.read_text(encoding="utf-8")
    assert committed == generate_users.render(), (
        "deploy/k8s/base/kafka/users.yaml is stale: run `uv run python -m deploy.k8s.generate_users`"
    )
    stale = tmp_path / "users.yaml"
    stale.write_text(committed.replace("- Read\n", "- All\n", 1), encoding="utf-8")
    assert generate_users.main(["--check", "--output", str(stale)]) == 1


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[p.name for p in OVERLAYS])
def test_the_only_listener_is_tls_with_scram_and_acls_are_enforced(overlay: Path) -> None:
    (kafka,) = of_kind(rendered(overlay), "Kafka")
    listeners = kafka["spec"]["kafka"]["listeners"]
    assert listeners, "no listener"
    for listener in listeners:
        assert listener["tls"] is True, listener["name"]
        assert listener.get("authentication", {}).get("type") == "scram-sha-512", listener["name"]
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    assert "userOperator" in kafka["spec"]["entityOperator"]


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[p.name for p in OVERLAYS])
def test_every_user_of_the_table_is_a_kafka_user_and_no_other(overlay: Path) -> None:
    users = of_kind(rendered(overlay), "KafkaUser")
    assert sorted(u["metadata"]["name"] for u in users) == sorted(user_name(u) for u in USERS)
    for user in users:
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"


def acls(user: dict[str, Any], operation: str) -> set[str]:
    return {
        acl["resource"]["name"]
        for acl in user["spec"]["authorization"]["acls"]
        if acl["resource"]["type"] == "topic" and operation in acl["operations"]
    }


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[p.name for p in OVERLAYS])
def test_a_kafka_user_writes_only_its_topic_and_the_dlqs_of_what_it_reads(overlay: Path) -> None:
    resources = rendered(overlay)
    for table_user in USERS:
        user = named(resources, "KafkaUser", user_name(table_user))
        own = {t.name for t in (*table_user.writes, *table_user.forwards)}
        assert acls(user, "Write") == own | {t.dlq for t in table_user.reads}
        assert acls(user, "Read") == {t.name for t in table_user.reads}
    storefront = named(resources, "KafkaUser", "storefront")
    assert acls(storefront, "Write") == {"storefront.orders"} and not acls(storefront, "Read")


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[p.name for p in OVERLAYS])
def test_each_service_connects_as_its_own_user_with_the_password_from_its_secret(overlay: Path) -> None:
    resources = rendered(overlay)
    for table_user in SERVICE_USERS:
        name = user_name(table_user)
        deployment = named(resources, "Deployment", name)
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        (config_ref,) = [s["configMapRef"]["name"] for s in container["envFrom"] if "configMapRef" in s]
        config = named(resources, "ConfigMap", config_ref)["data"]
        assert config["KAFKA_SASL_USERNAME"] == name
        assert config["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        env = {e["name"]: e for e in container["env"]}
        assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": name, "key": "password"}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        ca = volumes[mounts[str(Path(config["KAFKA_SSL_CAFILE"]).parent)]]
        assert ca["secret"]["secretName"] == "fulfillment-kafka-cluster-ca-cert"
    assert user_named("customer_service") and user_name(user_named("customer_service")) == "customer-service"
