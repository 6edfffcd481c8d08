"""Which process owns which log: Kafka's consumer group decides, with an assignor of ours.

A service keeps `logs` event logs (or read-model shards). Kafka partition `p` of every topic the service
consumes belongs to log `p % logs`, and the assignor gives all partitions of one log, on every topic, to the
same member of the group — so each log has exactly one writer at a time, and the topics it reads are
co-partitioned by their key (same key → same partition number → same log). With `logs == 1` one member owns
everything and the others are hot standbys (inventory's allocation: one writer, FIFO-fair by construction).

Keys are hashed as Kafka's Java client does (murmur2), which is also what aiokafka and FastStream use, so that a
service can find the log of a key (an HTTP read of any order) without asking Kafka.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from aiokafka.cluster import ClusterMetadata
from aiokafka.coordinator.assignors.abstract import AbstractPartitionAssignor
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment, ConsumerProtocolMemberMetadata
from aiokafka.partitioner import murmur2


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for `key`."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def log_of_key(key: str, partitions: int, logs: int) -> int:
    return partition_of(key.encode(), partitions) % logs


def log_owner_assignor(logs: int) -> type[AbstractPartitionAssignor]:
    """An assignor class (aiokafka takes classes) that keeps each log's partitions on one member."""

    class LogOwnerAssignor(AbstractPartitionAssignor):  # type: ignore[misc]
        name = f"log-owner-{logs}"
        version = 0

        @classmethod
        def assign(
            cls, cluster: ClusterMetadata, members: Mapping[str, ConsumerProtocolMemberMetadata]
        ) -> dict[str, ConsumerProtocolMemberAssignment]:
            member_ids = sorted(members)
            plan: dict[str, dict[str, list[int]]] = {member: defaultdict(list) for member in member_ids}
            topics = sorted({topic for metadata in members.values() for topic in metadata.subscription})
            for topic in topics:
                for partition in sorted(cluster.partitions_for_topic(topic) or ()):
                    owner = member_ids[(partition % logs) % len(member_ids)]
                    plan[owner][topic].append(partition)
            return {
                member: ConsumerProtocolMemberAssignment(cls.version, sorted(plan[member].items()), b"")
                for member in member_ids
            }

        @classmethod
        def metadata(cls, topics: object) -> ConsumerProtocolMemberMetadata:
            return ConsumerProtocolMemberMetadata(cls.version, list(topics), b"")  # type: ignore[call-overload]

        @classmethod
        def on_assignment(cls, assignment: ConsumerProtocolMemberAssignment) -> None:
            pass

    return LogOwnerAssignor
