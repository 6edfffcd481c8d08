"""MongoFactory: what PERSISTENCE_MODULE=shared.eventstore resolves to."""

from __future__ import annotations

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
)
from eventsourcing.utils import Environment, EnvType, resolve_topic, strtobool

from shared.eventstore.datastore import MongoDatastore, MongoSettings
from shared.eventstore.recorders import (
    MongoAggregateRecorder,
    MongoApplicationRecorder,
    MongoProcessRecorder,
    MongoTrackingRecorder,
)


class MongoFactory(InfrastructureFactory[MongoTrackingRecorder]):
    MONGODB_URL = "MONGODB_URL"
    MONGODB_DATABASE = "MONGODB_DATABASE"
    MONGODB_WRITE_CONCERN = "MONGODB_WRITE_CONCERN"
    MONGODB_READ_CONCERN = "MONGODB_READ_CONCERN"
    MONGODB_SERVER_SELECTION_TIMEOUT_MS = "MONGODB_SERVER_SELECTION_TIMEOUT_MS"
    MONGODB_POLL_INTERVAL = "MONGODB_POLL_INTERVAL"
    CREATE_TABLE = "CREATE_TABLE"
    # Bits of each owned log's stream filter (stream_filter.py); 0 turns it off.
    STREAM_FILTER_BITS = "STREAM_FILTER_BITS"

    aggregate_recorder_class = MongoAggregateRecorder
    application_recorder_class = MongoApplicationRecorder
    tracking_recorder_class = MongoTrackingRecorder
    process_recorder_class = MongoProcessRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        defaults = MongoSettings()
        get = self.env.get
        self.datastore = MongoDatastore(
            MongoSettings(
                url=get(self.MONGODB_URL) or defaults.url,
                database=get(self.MONGODB_DATABASE) or defaults.database,
                write_concern=get(self.MONGODB_WRITE_CONCERN) or defaults.write_concern,
                read_concern=get(self.MONGODB_READ_CONCERN) or defaults.read_concern,
                server_selection_timeout_ms=int(
                    get(self.MONGODB_SERVER_SELECTION_TIMEOUT_MS) or defaults.server_selection_timeout_ms
                ),
                poll_interval=float(get(self.MONGODB_POLL_INTERVAL) or defaults.poll_interval),
            )
        )

    # Collection names follow the library's Postgres module: "<app name>_<purpose>".
    def _events_prefix(self) -> str:
        # LOG_NAME: one application class, several logs (a service keeps one per partition group).
        return (self.env.get("LOG_NAME") or self.env.name).lower() or "stored"

    def _tracking_name(self) -> str:
        return (self.env.name.lower() or "notification") + "_tracking"

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        recorder = self.aggregate_recorder_class(self.datastore, f"{self._events_prefix()}_{purpose}")
        self._maybe_create(recorder)
        return recorder

    def application_recorder(self) -> ApplicationRecorder:
        topic = self.env.get(self.APPLICATION_RECORDER_TOPIC)
        cls: type[MongoApplicationRecorder] = resolve_topic(topic) if topic else self.application_recorder_class
        assert issubclass(cls, MongoApplicationRecorder)
        recorder = cls(self.datastore, f"{self._events_prefix()}_events")
        self._configure(recorder)
        return recorder

    def tracking_recorder(
        self, tracking_recorder_class: type[MongoTrackingRecorder] | None = None
    ) -> MongoTrackingRecorder:
        if tracking_recorder_class is None:
            topic = self.env.get(self.TRACKING_RECORDER_TOPIC)
            tracking_recorder_class = resolve_topic(topic) if topic else self.tracking_recorder_class
        assert tracking_recorder_class is not None
        assert issubclass(tracking_recorder_class, MongoTrackingRecorder)
        recorder = tracking_recorder_class(self.datastore, self._tracking_name())
        self._maybe_create(recorder)
        return recorder

    def process_recorder(self) -> ProcessRecorder:
        topic = self.env.get(self.PROCESS_RECORDER_TOPIC)
        cls: type[MongoProcessRecorder] = resolve_topic(topic) if topic else self.process_recorder_class
        assert issubclass(cls, MongoProcessRecorder)
        recorder = cls(self.datastore, f"{self._events_prefix()}_events")
        self._configure(recorder)
        return recorder

    def _configure(self, recorder: MongoApplicationRecorder) -> None:
        bits = self.env.get(self.STREAM_FILTER_BITS)
        if bits:
            recorder.log.filter_bits = int(bits)
        self._maybe_create(recorder)

    def _maybe_create(self, recorder: MongoAggregateRecorder | MongoTrackingRecorder) -> None:
        if strtobool(self.env.get(self.CREATE_TABLE) or "yes"):
            recorder.create_table()

    def close(self) -> None:
        self.datastore.close()
