"""The Kafka access table: who may write and read which topic (shared/contracts/kafka_access.py)."""

from __future__ import annotations

from deploy.local import kafka_users
from shared.contracts.kafka_access import (
    SERVICE_USERS,
    USERS,
    Operation,
    Pattern,
    Resource,
    acl_entries,
    all_acl_entries,
    user_named,
    user_names,
)
from shared.contracts.topics import ALL_TOPICS, INBOUND


def writes(prefix: str = "") -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for entry in all_acl_entries(prefix):
        if entry.resource is Resource.TOPIC and entry.operation is Operation.WRITE:
            found.setdefault(entry.name, set()).add(entry.principal.removeprefix("User:"))
    return found


def test_the_local_broker_makes_exactly_the_users_of_the_table() -> None:
    assert list(kafka_users.USER_NAMES) == user_names()


def test_every_topic_is_written_by_its_owner_and_only_by_it_or_a_forwarding_consumer() -> None:
    by_topic = writes()
    for topic in ALL_TOPICS:
        writers = by_topic[topic.name]
        assert topic.owner in writers
        forwarders = {u.name for u in USERS if topic in u.forwards}
        assert writers == {topic.owner} | forwarders, topic.name


def test_a_dlq_is_written_only_by_the_consumers_of_its_topic() -> None:
    by_topic = writes()
    for topic in ALL_TOPICS:
        readers = {u.name for u in SERVICE_USERS if topic in u.reads}
        assert by_topic.get(topic.dlq, set()) == readers, topic.dlq


def test_outside_producers_write_only_their_inbound_topic_and_read_nothing() -> None:
    for topic in INBOUND:
        entries = acl_entries(user_named(topic.owner))
        assert [(e.name, e.operation) for e in entries] == [(topic.name, Operation.WRITE)]


def test_a_stacks_acls_name_its_prefixed_topics_and_groups_exactly() -> None:
    entries = acl_entries(user_named("inventory"), prefix="t1.")
    topics = {e.name for e in entries if e.resource is Resource.TOPIC}
    assert all(name.startswith("t1.") for name in topics)
    assert all(e.pattern is Pattern.LITERAL for e in entries if e.resource is Resource.TOPIC)
    (group,) = [e for e in entries if e.resource is Resource.GROUP]
    assert (group.name, group.pattern, group.operation) == ("t1.inventory.", Pattern.PREFIXED, Operation.READ)
    assert "t1.orders.events.v1" in {e.name for e in entries if e.operation is Operation.READ}
    assert "t1.storefront.orders" not in topics
