"""One process per service: a FastStream Kafka broker and a FastAPI app sharing one event loop.

`ServiceRuntime` owns the connections; start-up failures become one `StartupError` line naming the
setting to fix, instead of a traceback wall.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from shared.http.health import health_router
from shared.messaging.broker import create_broker, ensure_topics
from shared.messaging.consumer import register_subscriptions
from shared.messaging.dead_letters import DeadLetters
from shared.messaging.inbox import InboxApplication
from shared.messaging.relay import OutboxRelay, ToOutbound
from shared.messaging.subscriptions import Subscription
from shared.settings import ServiceSettings
from shared.telemetry import OrderTraces, Telemetry, create_telemetry
from shared.telemetry.logs import configure_logging

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]


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
    relay: OutboxRelay | None = None
    started: bool = False

    @property
    def database(self) -> str:
        return self.settings.database_prefix + self.name

    def event_store_env(self) -> dict[str, str]:
        """Environment for the service's eventsourcing application: its own log in its own database."""
        return {
            "PERSISTENCE_MODULE": "shared.eventstore",
            "MONGODB_URL": self.settings.mongodb_url,
            "MONGODB_DATABASE": self.database,
            "MONGODB_WRITE_CONCERN": self.settings.mongodb_write_concern,
            "MONGODB_SERVER_SELECTION_TIMEOUT_MS": str(int(self.settings.startup_timeout_s * 1000)),
        }

    @property
    def order_traces(self) -> OrderTraces:
        return OrderTraces(self.mongo[self.database]["trace_contexts"])

    def attach_event_log(
        self,
        app: InboxApplication,
        subscriptions: Iterable[Subscription],
        to_outbound: ToOutbound,
        observers: Sequence[Callable[[Any], None]] = (),
    ) -> OutboxRelay:
        """Consume `subscriptions` into `app` and relay `app`'s log to Kafka: the same wiring in every service."""
        prefix = self.settings.topic_prefix
        traces = self.order_traces
        relay = OutboxRelay(
            self.name,
            app,
            to_outbound,
            self.broker,
            self.mongo[self.database]["outbox_relay"],
            telemetry=self.telemetry,
            traces=traces,
            observers=observers,
            topic_prefix=prefix,
        )
        # Whatever stored it (a Kafka message or an HTTP request), the relay looks now rather than at its next poll.
        app.call_after_store(relay.wake)
        dead_letters = DeadLetters(self.settings.kafka_bootstrap_servers, client_id=self.name)
        register_subscriptions(
            self.broker,
            self.name,
            subscriptions,
            dead_letters,
            telemetry=self.telemetry,
            traces=traces,
            topic_prefix=prefix,
        )
        # Running before the broker starts consuming: the first message may already be one for the DLQ.
        self.before_consuming.append(dead_letters.start)
        self.on_closed.append(dead_letters.stop)
        self.on_start.append(relay.start)
        self.on_stop.append(relay.stop)
        self.on_closed.append(lambda: asyncio.to_thread(app.close))
        self.relay = relay
        return relay

    @classmethod
    def create(cls, name: str, settings: ServiceSettings) -> ServiceRuntime:
        telemetry = create_telemetry(name)
        tracing = KafkaTelemetryMiddleware(
            tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
        )
        return cls(
            name=name,
            settings=settings,
            telemetry=telemetry,
            broker=create_broker(settings.kafka_bootstrap_servers, client_id=name, middlewares=[tracing]),
            mongo=AsyncMongoClient(
                settings.mongodb_url,
                uuidRepresentation="standard",
                serverSelectionTimeoutMS=int(settings.startup_timeout_s * 1000),
                connect=False,
            ),
        )

    async def start(self) -> None:
        if self.started:
            return
        s = self.settings
        try:
            await self.mongo.admin.command("ping")
        except PyMongoError as error:
            raise StartupError(f"{self.name}: cannot reach MongoDB at {s.mongodb_url} (MONGODB_URL): {error}") from None
        # aiokafka logs every failed connect attempt; at start-up our one line says it all.
        aiokafka_log = logging.getLogger("aiokafka")
        level = aiokafka_log.level
        aiokafka_log.setLevel(logging.CRITICAL)
        try:
            await asyncio.wait_for(
                ensure_topics(
                    s.kafka_bootstrap_servers, s.topic_partitions, s.topic_replication_factor, prefix=s.topic_prefix
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
        for hook in reversed(self.on_stop):
            try:
                await hook()
            except Exception:
                log.exception("%s: a shutdown hook failed", self.name)
        await self.broker.stop()
        for hook in self.on_closed:
            await hook()
        await self.mongo.close()
        # Flushes spans still in the batch processor.
        await asyncio.to_thread(self.telemetry.shutdown)
        self.started = False

    async def kafka_unready(self) -> str | None:
        return None if await self.broker.ping(timeout=2.0) else "broker does not answer"

    async def store_unready(self) -> str | None:
        await self.mongo.admin.command("ping")
        return None


def create_http_app(runtime: ServiceRuntime, routers: Iterable[APIRouter], *, title: str, description: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.include_router(health_router(runtime.name, {"kafka": runtime.kafka_unready, "store": runtime.store_unready}))
    for router in routers:
        app.include_router(router)
    app.state.runtime = runtime
    return app


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
    # Process-wide (PyMongo's command listeners are global): the one service of this process.
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

    return asyncio.run(main())


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
