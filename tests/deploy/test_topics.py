"""Topic settings live in shared/contracts/topics.py only: the KafkaTopics are generated from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.k8s import generate_topics
from shared.contracts import topics as topics_module
from shared.contracts.topics import ALL_TOPICS, Topic, topic_by_name, topic_names_with_dlqs
from tests.deploy.manifests import OVERLAYS, ROOT, of_kind, rendered, topics_used_by

DAY_MS = 24 * 60 * 60 * 1000


def test_committed_topics_yaml_is_what_the_generator_writes() -> None:
    committed = generate_topics.TOPICS_FILE.read_text(encoding="utf-8")
    assert committed == generate_topics.render(), (
        "deploy/k8s/base/kafka/topics.yaml is stale: run `uv run python -m deploy.k8s.generate_topics`"
    )
    assert generate_topics.main(["--check"]) == 0


def test_generator_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "topics.yaml"
    stale.write_text(generate_topics.render().replace("partitions: 6", "partitions: 3", 1), encoding="utf-8")
    assert generate_topics.main(["--check", "--output", str(stale)]) == 1
    assert generate_topics.main(["--output", str(stale)]) == 0
    assert generate_topics.main(["--check", "--output", str(stale)]) == 0


def test_every_topic_defined_in_the_contract_module_is_listed() -> None:
    defined = {value for value in vars(topics_module).values() if isinstance(value, Topic)}
    assert defined == set(ALL_TOPICS)


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[p.name for p in OVERLAYS])
def test_kafka_topics_match_the_code_both_ways(overlay: Path) -> None:
    kafka_topics = of_kind(rendered(overlay), "KafkaTopic")
    in_cluster = [t["spec"].get("topicName", t["metadata"]["name"]) for t in kafka_topics]
    assert len(in_cluster) == len(set(in_cluster)), "a topic is declared twice"
    assert set(in_cluster) == set(topic_names_with_dlqs())
    for topic in ALL_TOPICS:
        assert topic.dlq in in_cluster, f"{topic.name} has no dead-letter KafkaTopic"


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[p.name for p in OVERLAYS])
def test_kafka_topic_settings_come_from_the_code(overlay: Path) -> None:
    for kafka_topic in of_kind(rendered(overlay), "KafkaTopic"):
        spec = kafka_topic["spec"]
        topic = topic_by_name(spec["topicName"])
        retention_days = topic.dlq_retention_days if spec["topicName"] == topic.dlq else topic.retention_days
        assert kafka_topic["metadata"]["labels"]["strimzi.io/cluster"] == generate_topics.KAFKA_CLUSTER
        assert spec["partitions"] == topic.partitions
        assert spec["replicas"] == 3
        assert spec["config"]["min.insync.replicas"] == 2
        assert spec["config"]["retention.ms"] == retention_days * DAY_MS


def test_every_topic_the_services_name_is_a_kafka_topic() -> None:
    declared = {t["spec"]["topicName"] for t in of_kind(rendered(OVERLAYS[0]), "KafkaTopic")}
    for directory in sorted((ROOT / "services").iterdir()):
        for topic in topics_used_by(directory):
            assert {topic.name, topic.dlq} <= declared, f"{directory.name} uses {topic.name}, not a KafkaTopic"


def test_kafka_cluster_can_hold_the_topics() -> None:
    for overlay in OVERLAYS:
        resources = rendered(overlay)
        kafka = of_kind(resources, "Kafka")
        assert [k["metadata"]["name"] for k in kafka] == [generate_topics.KAFKA_CLUSTER]
        brokers = sum(
            pool["spec"]["replicas"]
            for pool in of_kind(resources, "KafkaNodePool")
            if "broker" in pool["spec"]["roles"]
        )
        assert brokers >= generate_topics.REPLICATION_FACTOR, f"{overlay.name}: {brokers} brokers cannot hold 3 copies"
        assert any("controller" in pool["spec"]["roles"] for pool in of_kind(resources, "KafkaNodePool"))
        config = kafka[0]["spec"]["kafka"]["config"]
        assert config["min.insync.replicas"] == generate_topics.MIN_INSYNC_REPLICAS
