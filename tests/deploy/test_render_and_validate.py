"""Every overlay renders offline and every object in it is valid; a broken manifest is caught."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.k8s.kustomize import KustomizeError, Resource, build, resource_id
from deploy.k8s.validate import CUSTOM_RESOURCE_SHAPES, KUBERNETES_VERSIONS, validate_resources
from tests.deploy.manifests import FIXTURES, K8S, OVERLAYS, rendered

OVERLAY_IDS = [p.name for p in OVERLAYS]


def test_the_overlays_are_dev_and_prod() -> None:
    assert {"dev", "prod"} <= set(OVERLAY_IDS)


@pytest.mark.parametrize("overlay", OVERLAYS, ids=OVERLAY_IDS)
def test_overlay_renders_into_valid_objects(overlay: Path) -> None:
    resources = rendered(overlay)
    kinds = {r["kind"] for r in resources}
    assert {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "HorizontalPodAutoscaler"} <= kinds
    assert {"NetworkPolicy", "Kafka", "KafkaNodePool", "KafkaTopic", "MongoDBCommunity"} <= kinds
    assert validate_resources(resources) == []


@pytest.mark.parametrize("overlay", OVERLAYS, ids=OVERLAY_IDS)
def test_overlay_puts_everything_in_one_namespace(overlay: Path) -> None:
    namespaces = {r["metadata"].get("namespace") for r in rendered(overlay)}
    assert len(namespaces) == 1 and None not in namespaces, namespaces


def test_custom_kinds_are_skipped_by_name_and_checked_by_shape() -> None:
    kinds = {r["kind"] for overlay in OVERLAYS for r in rendered(overlay)}
    assert kinds & set(CUSTOM_RESOURCE_SHAPES) == {
        "Kafka",
        "KafkaNodePool",
        "KafkaTopic",
        "KafkaUser",
        "MongoDBCommunity",
    }


def test_validation_covers_an_old_and_the_newest_kubernetes() -> None:
    assert len(KUBERNETES_VERSIONS) == 2 and KUBERNETES_VERSIONS[0] < KUBERNETES_VERSIONS[1]


# --- deliberately broken manifests ---------------------------------------------------------------------------


def test_a_broken_deployment_fails_validation() -> None:
    problems = validate_resources(build(FIXTURES / "broken-deployment"))
    text = "\n".join(problems)
    # A string where Kubernetes wants an integer, and a misspelt field (strict schemas reject unknown fields).
    assert "spec.replicas" in text and "'three' is not of type 'integer'" in text, text
    assert "livenessprobe" in text, text


def test_a_broken_kafka_topic_fails_the_shape_check() -> None:
    problems = validate_resources(build(FIXTURES / "broken-kafkatopic"))
    text = "\n".join(problems)
    assert "spec.partitions" in text and "'six' is not of type 'integer'" in text, text
    assert "strimzi.io/cluster" in text, text


def test_a_kind_without_any_schema_fails() -> None:
    problems = validate_resources(build(FIXTURES / "unknown-kind"))
    assert problems and "no Kubernetes schema" in problems[0], problems


def test_the_renderer_refuses_what_it_does_not_implement() -> None:
    with pytest.raises(KustomizeError, match="unsupported field"):
        build(FIXTURES / "unsupported-kustomization")


def test_the_renderer_refuses_a_patch_that_matches_nothing(tmp_path: Path) -> None:
    patch = {"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaTopic", "metadata": {"name": "nope"}}
    kustomization = {
        "resources": [str(FIXTURES / "broken-kafkatopic" / "topic.yaml")],
        "patches": [{"patch": yaml.safe_dump({**patch, "spec": {"partitions": 2}})}],
    }
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    with pytest.raises(KustomizeError, match="matches 0 resources"):
        build(tmp_path)


# --- the renderer against the real kustomize, where one is installed -----------------------------------------


def _by_id(resources: list[Resource]) -> dict[tuple[str, str, str, str], Any]:
    return {resource_id(r): json.loads(json.dumps(r)) for r in resources}


@pytest.mark.parametrize("overlay", [*OVERLAYS, K8S / "base"], ids=[*OVERLAY_IDS, "base"])
def test_renderer_agrees_with_kubectl_kustomize(overlay: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the offline renderer is the only one")
    result = subprocess.run(
        [kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=30, check=False
    )
    if result.returncode != 0:
        pytest.skip(f"kubectl kustomize cannot run here: {result.stderr.strip()[:200]}")
    theirs = [d for d in yaml.safe_load_all(result.stdout) if d is not None]
    assert _by_id(rendered(overlay)) == _by_id(theirs)
