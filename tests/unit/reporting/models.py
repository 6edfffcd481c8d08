"""The scenario folded the way the service folds it, without Kafka or MongoDB: each event's bytes through the
service's own edge (contract validation), to the partition its key hashes to, into that partition's
`PartitionModel`. `ModelsReader` serves the query side from those models (the reader port's contract), so the
real `KpiQueries` computes the figures."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from aiokafka import ConsumerRecord

from services.reporting.application import PartitionModel, ReorderPointCrossed
from services.reporting.config import ReportingSettings
from services.reporting.policies import observed, subscriptions
from shared.messaging.event_log import Edge
from shared.messaging.ownership import partition_of
from tests.reporting_scenario import SETTINGS, Published

PARTITIONS = 6


def settings(**overrides: str) -> ReportingSettings:
    """The scenario's settings as the service reads them from its environment (JSON values decoded as it does)."""
    values: dict[str, Any] = {
        k.lower(): json.loads(v) if v.startswith("{") else v for k, v in {**SETTINGS, **overrides}.items()
    }
    return ReportingSettings.model_validate(values)


def record(event: Published, offset: int = 0) -> ConsumerRecord[bytes, bytes]:
    key = event.key.encode()
    value = event.value()
    return ConsumerRecord(
        event.topic, partition_of(key, PARTITIONS), offset, 0, 0, key, value, None, len(key), len(value), []
    )


def fold(
    events: Iterable[Published],
    models: dict[int, PartitionModel] | None = None,
    config: ReportingSettings | None = None,
    batch: int = 1,
) -> tuple[dict[int, PartitionModel], list[ReorderPointCrossed]]:
    """`batch` events per batch (one by one by default, as a slow consumer would see them); returns the models and
    the crossings staged."""
    config = config or settings()
    edge = Edge(subscriptions(), "")
    models = models if models is not None else {}
    crossings: list[ReorderPointCrossed] = []
    pending: dict[int, list[Any]] = {}
    listed = list(events)
    for index, event in enumerate(listed):
        rec = record(event)
        readable, rejected = edge.read_batch([rec])
        assert not rejected, rejected[0].reason
        pending.setdefault(rec.partition, []).extend(
            observed(edge.topic(rec.topic).owner, message) for _, message, _ in readable
        )
        if (index + 1) % batch == 0 or index == len(listed) - 1:
            for partition, observed_events in pending.items():
                model = models.setdefault(
                    partition, PartitionModel(partition, config.ship_by_rule(), config.replenishment_policy())
                )
                crossings += model.fold(observed_events).crossings
            pending = {}
    return models, crossings


class ModelsReader:
    def __init__(self, models: dict[int, PartitionModel]) -> None:
        self.models = models

    async def generation(self, requested: str | None = None) -> str:
        return requested or "g0"

    async def days(
        self, generation: str, start: str, end: str, customers: bool = False, as_of: str | None = None
    ) -> dict[str, Counter[str]]:
        result: dict[str, Counter[str]] = {}
        for model in self.models.values():
            for day in model.members:
                if start <= day <= end:
                    for layers in model.rows(day).values():
                        counters = result.setdefault(day, Counter())
                        for at, change in layers:
                            if as_of is None or at <= as_of:
                                counters.update(change)
        return {day: Counter({k: v for k, v in c.items() if v}) for day, c in result.items()}

    def signature(self, generation: str, day: str) -> tuple[tuple[int, int], ...]:
        return tuple(sorted((p, m.version) for p, m in self.models.items()))

    async def states(self, generation: str) -> list[dict[str, Any]]:
        return [model.state() for model in self.models.values()]

    async def day_rows(self, generation: str, day: str) -> dict[int, Any]:
        return {p: model.rows(day) for p, model in self.models.items()}

    async def levels(self, generation: str, day: str) -> dict[str, list[list[Any]]]:
        return {name: levels for model in self.models.values() for name, levels in model.levels(day).items()}
