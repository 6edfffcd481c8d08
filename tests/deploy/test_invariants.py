"""What must hold for every service in every overlay: probes, limits, non-root, settings that match the
KafkaTopics, autoscaling within the partition count, its own database, and a NetworkPolicy that lets it reach
only Kafka, MongoDB, the OTel collector and DNS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deploy.k8s.generate_topics import KAFKA_CLUSTER
from shared.contracts.topics import ALL_TOPICS
from shared.settings import ServiceSettings
from tests.deploy.manifests import OVERLAYS, ServiceCode, named, of_kind, rendered, services_in_code, topics_used_by

CASES = [(overlay, service) for overlay in OVERLAYS for service in services_in_code()]
CASE_IDS = [f"{overlay.name}-{service.package}" for overlay, service in CASES]
OVERLAY_IDS = [p.name for p in OVERLAYS]
# Settings every service reads (shared/settings.py), under their environment variable names.
SETTINGS_ENV = {name.upper() for name in ServiceSettings.model_fields}


def test_the_code_has_the_five_services() -> None:
    expected = {"orders", "inventory", "shipping", "customer_service", "reporting"}
    assert {s.package for s in services_in_code()} == expected


def deployment_of(resources: list[dict[str, Any]], service: ServiceCode) -> dict[str, Any]:
    found = [
        d
        for d in of_kind(resources, "Deployment")
        if d["spec"]["template"]["spec"]["containers"][0].get("command", [None])[0] == service.script
    ]
    assert len(found) == 1, f"expected one Deployment running `{service.script}`, found {len(found)}"
    return found[0]


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"only matchLabels selectors are expected: {selector}"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def config_of(resources: list[dict[str, Any]], deployment: dict[str, Any]) -> dict[str, str]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    config: dict[str, str] = {}
    for source in container.get("envFrom", []):
        config.update(named(resources, "ConfigMap", source["configMapRef"]["name"])["data"])
    for variable in container.get("env", []):
        if "value" in variable:
            config[variable["name"]] = variable["value"]
    return config


@pytest.mark.parametrize("overlay", OVERLAYS, ids=OVERLAY_IDS)
def test_every_deployment_has_probes_limits_and_runs_as_non_root(overlay: Path) -> None:
    for deployment in of_kind(rendered(overlay), "Deployment"):
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"].get("runAsUser", 0) != 0, name
        assert pod.get("automountServiceAccountToken") is False, name
        for container in pod["containers"]:
            assert container["livenessProbe"] and container["readinessProbe"], name
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{name}: {bound}"
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["capabilities"]["drop"] == ["ALL"], name


@pytest.mark.parametrize(("overlay", "service"), CASES, ids=CASE_IDS)
def test_service_deployment(overlay: Path, service: ServiceCode) -> None:
    resources = rendered(overlay)
    deployment = deployment_of(resources, service)
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": service.default_port}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    # Graceful shutdown: the preStop pause plus a consumer-group rebalance must fit in the grace period.
    grace = pod["terminationGracePeriodSeconds"]
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert grace >= 60 and grace - pre_stop >= 45, (grace, pre_stop)
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]


@pytest.mark.parametrize(("overlay", "service"), CASES, ids=CASE_IDS)
def test_service_settings_match_the_cluster(overlay: Path, service: ServiceCode) -> None:
    resources = rendered(overlay)
    deployment = deployment_of(resources, service)
    config = config_of(resources, deployment)
    unknown = {k for k in config if k not in SETTINGS_ENV | {service.port_env} and not k.startswith("OTEL_")}
    assert not unknown, f"settings the service does not read: {unknown}"
    kafka_topics = of_kind(resources, "KafkaTopic")
    assert {str(t["spec"]["partitions"]) for t in kafka_topics} == {config["TOPIC_PARTITIONS"]}
    assert {str(t["spec"]["replicas"]) for t in kafka_topics} == {config["TOPIC_REPLICATION_FACTOR"]}
    assert config["KAFKA_BOOTSTRAP_SERVERS"] == f"{KAFKA_CLUSTER}-kafka-bootstrap:9093"
    assert config["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert "KAFKA_SASL_PASSWORD" not in config, "KAFKA_SASL_PASSWORD is a password: it must come from a Secret"
    assert config["HTTP_HOST"] == "0.0.0.0"
    assert config["MONGODB_WRITE_CONCERN"] == "majority"
    assert config.get("DATABASE_PREFIX", "") == ""
    assert config.get("TOPIC_PREFIX", "") == ""
    assert config[service.port_env] == str(service.default_port)
    assert "MONGODB_URL" not in config, "MONGODB_URL holds a password: it must come from a Secret"


@pytest.mark.parametrize(("overlay", "service"), CASES, ids=CASE_IDS)
def test_service_uses_its_own_database_through_a_secret(overlay: Path, service: ServiceCode) -> None:
    resources = rendered(overlay)
    deployment = deployment_of(resources, service)
    env = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    secret_ref = env["MONGODB_URL"]["valueFrom"]["secretKeyRef"]
    (mongodb,) = of_kind(resources, "MongoDBCommunity")
    users = [u for u in mongodb["spec"]["users"] if u.get("connectionStringSecretName") == secret_ref["name"]]
    assert len(users) == 1, f"no MongoDB user writes the Secret {secret_ref['name']}"
    assert secret_ref["key"] == "connectionString.standard"
    # Its database is named after the service (DATABASE_PREFIX is empty), and it may touch nothing else.
    assert users[0]["roles"] == [{"name": "readWrite", "db": service.runtime_name}]


def test_no_secret_values_are_committed() -> None:
    for overlay in OVERLAYS:
        assert of_kind(rendered(overlay), "Secret") == []


@pytest.mark.parametrize(("overlay", "service"), CASES, ids=CASE_IDS)
def test_autoscaling_stays_within_the_partitions(overlay: Path, service: ServiceCode) -> None:
    resources = rendered(overlay)
    deployment = deployment_of(resources, service)
    name = deployment["metadata"]["name"]
    hpas = [h for h in of_kind(resources, "HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"]["name"] == name]
    assert len(hpas) == 1, f"{name} has {len(hpas)} HorizontalPodAutoscalers"
    spec = hpas[0]["spec"]
    assert spec["scaleTargetRef"]["kind"] == "Deployment"
    # A service whose consumers are not written yet may later consume any topic of the contract.
    topics = topics_used_by(service.directory) or set(ALL_TOPICS)
    # Consumers beyond the partition count of a topic they consume get no partition: max ≤ every count.
    assert spec["maxReplicas"] <= min(t.partitions for t in topics), sorted(t.name for t in topics)
    assert 1 <= spec["minReplicas"] <= deployment["spec"]["replicas"] <= spec["maxReplicas"]


@pytest.mark.parametrize(("overlay", "service"), CASES, ids=CASE_IDS)
def test_disruption_budget_and_service_select_the_pods(overlay: Path, service: ServiceCode) -> None:
    resources = rendered(overlay)
    deployment = deployment_of(resources, service)
    labels = pod_labels(deployment)
    assert selects(deployment["spec"]["selector"], labels)
    budgets = [p for p in of_kind(resources, "PodDisruptionBudget") if selects(p["spec"]["selector"], labels)]
    assert len(budgets) == 1
    # maxUnavailable keeps a one-replica deployment drainable; minAvailable 1 would block every node drain.
    assert budgets[0]["spec"].get("maxUnavailable") == 1
    services = [
        s for s in of_kind(resources, "Service") if all(labels.get(k) == v for k, v in s["spec"]["selector"].items())
    ]
    assert len(services) == 1 and services[0]["spec"]["ports"][0]["targetPort"] == "http"


@pytest.mark.parametrize(("overlay", "service"), CASES, ids=CASE_IDS)
def test_network_policy_allows_only_kafka_its_database_telemetry_and_dns(overlay: Path, service: ServiceCode) -> None:
    resources = rendered(overlay)
    labels = pod_labels(deployment_of(resources, service))
    policies = [p for p in of_kind(resources, "NetworkPolicy") if selects(p["spec"]["podSelector"], labels)]
    assert len(policies) == 1
    spec = policies[0]["spec"]
    assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
    (mongodb,) = of_kind(resources, "MongoDBCommunity")
    collector = pod_labels(named(resources, "Deployment", "otel-collector"))
    reached = set()
    for rule in spec["egress"]:
        assert rule.get("to"), "an egress rule without `to` allows every destination"
        assert rule.get("ports"), "an egress rule without `ports` allows every port"
        ports = {(p.get("protocol", "TCP"), p["port"]) for p in rule["ports"]}
        for peer in rule["to"]:
            assert "ipBlock" not in peer, "no address ranges: peers are named by label"
            pods = peer.get("podSelector", {}).get("matchLabels", {})
            if "namespaceSelector" in peer:
                assert pods == {"k8s-app": "kube-dns"} and ports <= {("UDP", 53), ("TCP", 53)}
                reached.add("dns")
            elif pods.get("strimzi.io/cluster") == KAFKA_CLUSTER:
                assert ports == {("TCP", 9093)}
                reached.add("kafka")
            elif pods == {"app": f"{mongodb['metadata']['name']}-svc"}:
                assert ports == {("TCP", 27017)}
                reached.add("mongodb")
            elif pods and all(collector.get(k) == v for k, v in pods.items()):
                assert ports <= {("TCP", 4317), ("TCP", 4318)}
                reached.add("otel-collector")
            else:
                raise AssertionError(f"egress to an unexpected peer: {peer}")
    assert reached == {"dns", "kafka", "mongodb", "otel-collector"}


def test_dev_runs_one_replica_of_each_service() -> None:
    resources = rendered(next(o for o in OVERLAYS if o.name == "dev"))
    for service in services_in_code():
        assert deployment_of(resources, service)["spec"]["replicas"] == 1
    assert {h["spec"]["maxReplicas"] for h in of_kind(resources, "HorizontalPodAutoscaler")} == {1}


def test_prod_spreads_replicas_over_nodes() -> None:
    resources = rendered(next(o for o in OVERLAYS if o.name == "prod"))
    for service in services_in_code():
        deployment = deployment_of(resources, service)
        assert deployment["spec"]["replicas"] >= 3
        terms = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
        preferred = terms["preferredDuringSchedulingIgnoredDuringExecution"]
        hostname = [t for t in preferred if t["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"]
        assert hostname and selects(hostname[0]["podAffinityTerm"]["labelSelector"], pod_labels(deployment))
