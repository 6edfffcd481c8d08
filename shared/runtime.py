"""One process per service: a FastStream Kafka broker and a FastAPI app sharing one event loop.

`ServiceRuntime` owns the connections; start-up failures become one `StartupError` line naming the
setting to fix, instead of a traceback wall.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from shared.eventstore.datastore import SOCKET_TIMEOUT_MS
from shared.eventstore.recorders import MongoApplicationRecorder
from shared.http.auth import install_access_control
from shared.http.health import health_router
from shared.http.metrics import metrics_router
from shared.http.tokens import UNAUTHENTICATED_SUBJECT, auth_settings_problem
from shared.messaging.application import ServiceApplication
from shared.messaging.broker import create_broker, ensure_topics
from shared.messaging.consumer import LogWorker, ServiceConsumer
from shared.messaging.dead_letters import DeadLetters
from shared.messaging.event_log import Edge, EventLogWorker
from shared.messaging.kafka_security import KafkaSecurity
from shared.messaging.logs import LogSet
from shared.messaging.relay import LogRelay, ToOutbound
from shared.messaging.subscriptions import Subscription
from shared.personal_data import sealing_disabled, sealing_settings_problem
from shared.personal_data.mapper import stop_sealing
from shared.settings import ServiceSettings
from shared.store_collections import create_collection
from shared.telemetry import OrderTraces, Telemetry, create_telemetry
from shared.telemetry.logs import configure_logging
from shared.telemetry.store_commands import count_store_commands

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]

# What stopping may take after the HTTP server has drained (uvicorn gives it 10 s): within Kubernetes' default
# 30 s grace period, so the process exits by itself rather than being killed.
SHUTDOWN_BUDGET_S = 15.0


def _named(hook: Hook) -> str:
    return getattr(hook, "__qualname__", repr(hook))


App = TypeVar("App", bound=ServiceApplication)


class StartupError(RuntimeError):
    """The service cannot start; the message says what is wrong and which setting to look at."""


@dataclass
class ServiceRuntime:
    name: str
    settings: ServiceSettings
    broker: KafkaBroker
    mongo: AsyncMongoClient[dict[str, Any]]
    telemetry: Telemetry
    # Run once Kafka answers, before the subscribers start consuming.
    before_consuming: list[Hook] = field(default_factory=list)
    # Run after the broker is connected (e.g. outbox relays), and before it closes, in reverse order.
    on_start: list[Hook] = field(default_factory=list)
    on_stop: list[Hook] = field(default_factory=list)
    # After the broker stopped, so no handler is still using what they close (e.g. the event store).
    on_closed: list[Hook] = field(default_factory=list)
    consumers: list[ServiceConsumer] = field(default_factory=list)
    # Created at start if missing. FerretDB v1 creates a missing collection inside the write that needs it while
    # holding its metadata lock, and can deadlock doing so under concurrent writes (seen here: every request,
    # ping included, then waits forever); creating them up front, one at a time, never takes that path.
    collections: list[str] = field(default_factory=lambda: ["outbox_relay", "trace_contexts"])
    traces: OrderTraces | None = None
    # A service's own checks of its settings, run at start like the access-control one: a problem or None.
    settings_checks: list[Callable[[], str | None]] = field(default_factory=list)
    started: bool = False

    @property
    def database(self) -> str:
        return self.settings.database_prefix + self.name

    def event_store_env(self, log_name: str | None = None) -> dict[str, str]:
        """Environment for one of the service's eventsourcing applications: its own log in its own database."""
        return {
            "LOG_NAME": log_name or self.name,
            "UNSAFE_DISABLE_DEDUP": "y" if self.settings.unsafe_disable_dedup else "n",
            "PERSISTENCE_MODULE": "shared.eventstore",
            "MONGODB_URL": self.settings.mongodb_url,
            "MONGODB_DATABASE": self.database,
            "MONGODB_WRITE_CONCERN": self.settings.mongodb_write_concern,
            "MONGODB_SERVER_SELECTION_TIMEOUT_MS": str(int(self.settings.startup_timeout_s * 1000)),
        }

    @property
    def order_traces(self) -> OrderTraces:
        if self.traces is None:
            self.traces = OrderTraces(self.mongo[self.database]["trace_contexts"])
        return self.traces

    def event_logs(
        self,
        make_app: Callable[[dict[str, str]], App],
        subscriptions: Callable[[App], list[Subscription]],
        to_outbound: ToOutbound,
        *,
        logs: int,
        observers: Sequence[Callable[[Any], None]] = (),
    ) -> LogSet[App]:
        """The service's logs, consumed into and relayed to Kafka: the same wiring in every service.

        `logs` is how many event logs the service keeps: its topics' partition count when every topic it reads is
        keyed by what its aggregates are keyed by (each log then has its own owner), or 1 for a single writer.
        """
        prefix = self.settings.topic_prefix
        traces = self.order_traces
        group_id = self.group_id("processing")
        writers, readers, relays, workers = [], [], [], []
        edges = []
        for index in range(logs):
            log_name = self.name if logs == 1 else f"{self.name}_p{index:02d}"
            writer = make_app(self.event_store_env(log_name))
            reader = make_app({**self.event_store_env(log_name), "AGGREGATE_CACHE_MAXSIZE": ""})
            if isinstance(writer.recorder, MongoApplicationRecorder) and isinstance(
                reader.recorder, MongoApplicationRecorder
            ):
                # Queries see what this process committed and published before its checkpoint stores the pages.
                reader.recorder.log.pending = writer.recorder.log.pending
                reader.recorder.log.serves_queries = True
            if sealing_disabled(self.settings):
                stop_sealing(writer.mapper)
                stop_sealing(reader.mapper)
            relay = LogRelay(
                log_name,
                writer,
                to_outbound,
                self.broker,
                self.mongo[self.database]["outbox_relay"],
                telemetry=self.telemetry,
                traces=traces,
                observers=observers,
                topic_prefix=prefix,
            )
            edge = Edge(subscriptions(writer), prefix)
            edges.append(edge)
            partitions = [(topic, p) for topic in edge.topics() for p in range(self.partitions) if p % logs == index]
            worker = EventLogWorker(
                app=writer,
                edge=edge,
                relay=relay,
                group_id=group_id,
                partitions=partitions,
                telemetry=self.telemetry,
                traces=traces,
                crash_before_publishing=self.settings.fault_exit_before_publishing,
            )
            writers.append(writer)
            readers.append(reader)
            relays.append(relay)
            workers.append(worker)
        log_set = LogSet(self.name, self.partitions, writers, readers, relays, workers)
        topics = edges[0].topics()
        keyed = [name for name in topics if edges[0].topic(name).key == "order_id"] if logs > 1 else []
        self.consume(group_id, topics, logs, lambda index: workers[index], keyed_topics=keyed)
        self.telemetry.metrics.watch_backlog(lambda: sum(r.backlog_estimate for r in relays))
        self.on_closed.append(lambda: asyncio.to_thread(log_set.close))
        return log_set

    def consume(
        self,
        group_id: str,
        topics: Sequence[str],
        logs: int,
        workers: Callable[[int], LogWorker],
        keyed_topics: Sequence[str] = (),
        aligned_batches: bool = False,
    ) -> ServiceConsumer:
        dead_letters = DeadLetters(
            self.settings.kafka_bootstrap_servers, client_id=self.name, security=self.kafka_security
        )
        consumer = ServiceConsumer(
            service=self.name,
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            security=self.kafka_security,
            group_id=group_id,
            topics=topics,
            logs=logs,
            workers=workers,
            dead_letters=dead_letters,
            telemetry=self.telemetry,
            keyed_topics=keyed_topics,
            max_batch=self.settings.max_batch,
            stuck_after_s=self.settings.stuck_after_s,
            linger_s=self.settings.batch_linger_ms / 1000,
            aligned_batches=aligned_batches,
        )
        # The DLQ writer runs before consuming starts: the first message may already be one for the DLQ.
        self.before_consuming.append(dead_letters.start)
        self.on_start.append(consumer.start)
        self.on_stop.append(consumer.stop)
        self.on_closed.append(dead_letters.stop)
        self.consumers.append(consumer)
        self.telemetry.metrics.watch_stuck(lambda: sum(len(c.problems()) for c in self.consumers))
        return consumer

    def group_id(self, purpose: str) -> str:
        """`<service>.<purpose>`, under the topic prefix: stacks sharing a broker never share a group."""
        return f"{self.settings.topic_prefix}{self.name}.{purpose}"

    @property
    def kafka_security(self) -> KafkaSecurity:
        """This service's Kafka user (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD)."""
        return KafkaSecurity.from_settings(self.settings)

    @property
    def partitions(self) -> int:
        return self.settings.partitions

    @classmethod
    def create(cls, name: str, settings: ServiceSettings) -> ServiceRuntime:
        telemetry = create_telemetry(name)
        return cls(
            name=name,
            settings=settings,
            telemetry=telemetry,
            broker=create_broker(
                settings.kafka_bootstrap_servers,
                client_id=name,
                security=KafkaSecurity.from_settings(settings),
            ),
            mongo=AsyncMongoClient(
                settings.mongodb_url,
                uuidRepresentation="standard",
                serverSelectionTimeoutMS=int(settings.startup_timeout_s * 1000),
                socketTimeoutMS=SOCKET_TIMEOUT_MS,
                connect=False,
            ),
        )

    async def start(self) -> None:
        if self.started:
            return
        s = self.settings
        refused = (
            auth_settings_problem(s)
            or sealing_settings_problem(s)
            or next((p for check in self.settings_checks if (p := check())), None)
        )
        if refused:
            raise StartupError(f"{self.name}: {refused}")
        # Accepted (the dev profile), and said in the log, so that nobody reads figures or data of such a run as
        # those of a protected one.
        if s.unsafe_disable_http_auth:
            log.warning(
                "%s: UNSAFE_DISABLE_HTTP_AUTH: no token checked, every caller is %r with every scope",
                self.name,
                UNAUTHENTICATED_SUBJECT,
            )
        if s.unsafe_disable_personal_data_sealing:
            log.warning("%s: UNSAFE_DISABLE_PERSONAL_DATA_SEALING: personal data is stored in plaintext", self.name)
        try:
            await self.mongo.admin.command("ping")
            await self.create_collections(self.collections)
        except PyMongoError as error:
            raise StartupError(f"{self.name}: cannot reach MongoDB at {s.mongodb_url} (MONGODB_URL): {error}") from None
        # aiokafka logs every failed connect attempt; at start-up our one line says it all.
        aiokafka_log = logging.getLogger("aiokafka")
        level = aiokafka_log.level
        aiokafka_log.setLevel(logging.CRITICAL)
        try:
            await asyncio.wait_for(
                ensure_topics(
                    s.kafka_bootstrap_servers,
                    s.topic_partitions,
                    s.topic_replication_factor,
                    prefix=s.topic_prefix,
                    security=self.kafka_security,
                ),
                s.startup_timeout_s,
            )
            for hook in self.before_consuming:
                await asyncio.wait_for(hook(), s.startup_timeout_s)
            await asyncio.wait_for(self.broker.start(), s.startup_timeout_s)
        except (TimeoutError, OSError, Exception) as error:
            await self.broker.stop()
            reason = "no answer" if isinstance(error, TimeoutError) else f"{type(error).__name__}: {error}"
            raise StartupError(
                f"{self.name}: cannot reach Kafka at {s.kafka_bootstrap_servers} (KAFKA_BOOTSTRAP_SERVERS) "
                f"within {s.startup_timeout_s:.0f}s: {reason}"
            ) from None
        finally:
            aiokafka_log.setLevel(level)
        for hook in self.on_start:
            await hook()
        self.started = True
        log.info("%s connected to Kafka %s and MongoDB", self.name, s.kafka_bootstrap_servers)

    async def stop(self) -> None:
        """Bounded: with the broker gone, a Kafka client's stop waits out its request timeout (40 s) and the
        orchestrator kills the pod first. Nothing is lost by giving up: offsets are committed only after effects
        are stored, so whatever was not finished is redone by the next owner."""
        deadline = asyncio.get_running_loop().time() + SHUTDOWN_BUDGET_S
        for hook in [*reversed(self.on_stop), self.broker.stop, *self.on_closed, self.mongo.close]:
            await self._stop_step(hook, deadline)
        # Flushes spans still in the batch processor.
        await asyncio.to_thread(self.telemetry.shutdown)
        self.started = False

    async def _stop_step(self, hook: Hook, deadline: float) -> None:
        remaining = max(0.5, deadline - asyncio.get_running_loop().time())
        try:
            await asyncio.wait_for(hook(), remaining)
        except TimeoutError:
            log.warning("%s: %s did not stop within %.1fs; leaving it", self.name, _named(hook), remaining)
        except Exception:
            log.exception("%s: %s failed while stopping", self.name, _named(hook))

    async def create_collections(self, names: Sequence[str]) -> None:
        """Create the missing ones of `names` in the service's database, one at a time (see `collections`)."""
        database = self.mongo[self.database]
        existing = set(await database.list_collection_names())
        for name in names:
            if name not in existing:
                await create_collection(database, name)

    async def kafka_unready(self) -> str | None:
        return None if await self.broker.ping(timeout=2.0) else "broker does not answer"

    async def store_unready(self) -> str | None:
        await self.mongo.admin.command("ping")
        return None

    async def processing_unready(self) -> str | None:
        problems = [problem for consumer in self.consumers for problem in consumer.problems()]
        return "; ".join(problems) or None


def create_http_app(runtime: ServiceRuntime, routers: Iterable[APIRouter], *, title: str, description: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        dump_tasks_on_signal()
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    checks = {"kafka": runtime.kafka_unready, "store": runtime.store_unready, "processing": runtime.processing_unready}
    app.include_router(health_router(runtime.name, checks))
    app.include_router(metrics_router(runtime.telemetry.registry))
    # Every other route declares the scopes it requires (shared/http/auth.py); /health, /ready, /metrics stay open.
    install_access_control(app, runtime.settings, max_body_bytes=runtime.settings.max_request_bytes)
    for router in routers:
        app.include_router(router)
    app.state.runtime = runtime
    return app


def dump_tasks_on_signal() -> None:
    """`kill -USR1 <pid>` logs the stack of every task of the loop: what a process whose work stopped without an
    error waits for (a lock, a write nobody answers)."""
    loop = asyncio.get_running_loop()

    def dump() -> None:
        for task in asyncio.all_tasks(loop):
            frames = io.StringIO()
            task.print_stack(limit=30, file=frames)
            log.warning("task %s:\n%s", task.get_name(), frames.getvalue())

    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not on this platform / thread
        loop.add_signal_handler(signal.SIGUSR1, dump)


def _server_class() -> type[Any]:
    import uvicorn

    class QuietSignalsServer(uvicorn.Server):
        """uvicorn re-raises SIGTERM after a graceful shutdown, so the process would die 'by signal'
        (exit -15) even though it stopped cleanly; we handle the signals ourselves and exit 0."""

        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

        def request_exit(self) -> None:
            self.should_exit = True

    return QuietSignalsServer


def serve(app: FastAPI, host: str, port: int) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit code."""
    import uvicorn

    _QuietSignalsServer = _server_class()
    runtime: ServiceRuntime = app.state.runtime
    configure_logging(runtime.name)
    if runtime.telemetry.exports_traces:
        # A span per store command, for whoever receives the traces; made only then, since it is a fifth of the
        # client's CPU per round trip (no one reads the other spans' children locally). Process-wide (PyMongo's
        # command listeners are global): the one service of this process.
        PymongoInstrumentor().instrument(tracer_provider=runtime.telemetry.tracer_provider)
    try:
        # Bind before connecting anything, so a busy port is reported plainly and cannot be lost to a race.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as error:
        print(f"{runtime.name}: cannot listen on {host}:{port}: {error.strerror}", flush=True)
        return 1

    async def main() -> int:
        try:
            await runtime.start()
        except StartupError as error:
            print(str(error), flush=True)
            await runtime.stop()
            return 1
        config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=10)
        server = _QuietSignalsServer(config)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, server.request_exit)
        print(f"{runtime.name}: serving on http://{host}:{port}", flush=True)
        await server.serve(sockets=[sock])
        print(f"{runtime.name}: stopped", flush=True)
        return 0

    with asyncio.Runner(loop_factory=_loop_factory(runtime.settings.event_loop)) as runner:
        return runner.run(main())


def _loop_factory(event_loop: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if event_loop == "asyncio":
        return None
    import uvloop

    return uvloop.new_event_loop


def run_service(create_app: Callable[[Any], FastAPI], settings_cls: type[ServiceSettings]) -> int:
    """Console entry point of every service: settings errors are reported as one line each."""
    from pydantic import ValidationError

    try:
        settings = settings_cls()
    except ValidationError as error:
        for problem in error.errors():
            print(f"invalid setting {'.'.join(map(str, problem['loc'])).upper()}: {problem['msg']}", flush=True)
        return 2
    # Building the app opens the event store, which needs MongoDB: check it first, so an unreachable or
    # wrong MONGODB_URL is one line, not a traceback from deep inside the store.
    unreachable = _mongodb_unreachable(settings)
    if unreachable:
        print(unreachable, flush=True)
        return 1
    # Before any client exists: every round trip of the process is counted (a metric; the benchmark reads it).
    count_store_commands()
    app = create_app(settings)
    return serve(app, settings.http_host, settings.http_port)


def _mongodb_unreachable(settings: ServiceSettings) -> str | None:
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(
        settings.mongodb_url, serverSelectionTimeoutMS=int(settings.startup_timeout_s * 1000)
    )
    try:
        client.admin.command("ping")
        return None
    except PyMongoError as error:
        return f"cannot reach MongoDB at {settings.mongodb_url} (MONGODB_URL): {error}"
    finally:
        client.close()
