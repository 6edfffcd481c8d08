"""The instruments an operator watches: throughput, failures, backlog and lag, order stage durations."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from shared.telemetry.store_commands import STORE_COMMANDS


class FulfillmentMetrics:
    def __init__(self, meter: Meter, service: str) -> None:
        self.service = service
        self.consumed = meter.create_counter(
            "fulfillment.messages.consumed", unit="{message}", description="Messages handled, per topic and type"
        )
        self.published = meter.create_counter(
            "fulfillment.messages.published", unit="{message}", description="Messages the outbox relay published"
        )
        self.handler_errors = meter.create_counter(
            "fulfillment.handler.errors", unit="{error}", description="Handler failures (retried or dead-lettered)"
        )
        self.dead_letters = meter.create_counter(
            "fulfillment.messages.dead_lettered", unit="{message}", description="Messages copied to a DLQ"
        )
        self.orders_received = meter.create_counter(
            "fulfillment.orders.received", unit="{order}", description="Orders accepted or rejected"
        )
        self.stage_duration = meter.create_histogram(
            "fulfillment.order.stage.duration",
            unit="s",
            description="Time from an order's receipt to reaching a stage (reserved, shipped, delivered)",
        )
        self._lag: dict[tuple[str, str, int], int] = {}
        self._backlog: Callable[[], int] | None = None
        meter.create_observable_gauge(
            "fulfillment.consumer.lag", [self._observe_lag], unit="{message}", description="Per group and partition"
        )
        meter.create_observable_gauge(
            "fulfillment.outbox.backlog", [self._observe_backlog], unit="{event}", description="Stored, not published"
        )
        meter.create_observable_counter(
            "fulfillment.store.commands",
            [self._observe_store_commands],
            unit="{command}",
            description="Round trips to MongoDB/FerretDB by this process, per command",
        )
        meter.create_observable_counter(
            "fulfillment.store.statements",
            [self._observe_store_statements],
            unit="{statement}",
            description="Documents written, updated or deleted by those commands (1 for other commands)",
        )
        self._stuck: Callable[[], int] | None = None
        meter.create_observable_gauge(
            "fulfillment.logs.stuck",
            [self._observe_stuck],
            unit="{log}",
            description="Logs whose batch has not been stored for longer than STUCK_AFTER_S (also on /ready)",
        )

        self._waiting: Callable[[], int] | None = None
        meter.create_observable_gauge(
            "fulfillment.messages.waiting",
            [self._observe_waiting],
            unit="{key}",
            description="Keys that early messages wait for (a tracking number not dispatched yet, a shipment not "
            "requested yet); a message waiting longer than its patience goes to the DLQ",
        )

    def watch_waiting(self, waiting: Callable[[], int]) -> None:
        self._waiting = waiting

    def _observe_waiting(self, options: CallbackOptions) -> Iterable[Observation]:
        if self._waiting is not None:
            yield Observation(self._waiting(), {"service": self.service})

    def record_lag(self, group: str, topic: str, partition: int, lag: int) -> None:
        self._lag[(group, topic, partition)] = lag

    def watch_backlog(self, backlog: Callable[[], int]) -> None:
        self._backlog = backlog

    def watch_stuck(self, stuck: Callable[[], int]) -> None:
        self._stuck = stuck

    def _observe_stuck(self, options: CallbackOptions) -> Iterable[Observation]:
        if self._stuck is not None:
            yield Observation(self._stuck(), {"service": self.service})

    def _observe_store_commands(self, options: CallbackOptions) -> Iterable[Observation]:
        for (command, collection), count in STORE_COMMANDS.snapshot().items():
            yield Observation(count, {"command": command, "collection": collection})

    def _observe_store_statements(self, options: CallbackOptions) -> Iterable[Observation]:
        for (command, collection), count in STORE_COMMANDS.statements_snapshot().items():
            yield Observation(count, {"command": command, "collection": collection})

    def _observe_lag(self, options: CallbackOptions) -> Iterable[Observation]:
        for (group, topic, partition), lag in list(self._lag.items()):
            yield Observation(lag, {"group": group, "topic": topic, "partition": partition})

    def _observe_backlog(self, options: CallbackOptions) -> Iterable[Observation]:
        if self._backlog is not None:
            yield Observation(self._backlog(), {"service": self.service})
