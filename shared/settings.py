"""Settings every service reads from its environment; each service adds its own on a subclass."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.contracts.topics import DEFAULT_PARTITIONS
from shared.http.limits import DEFAULT_MAX_BODY_BYTES
from shared.http.tokens import DEFAULT_AUDIENCE, DEV_ISSUER, DEV_SECRET


class ServiceSettings(BaseSettings):
    """Connection settings shared by all services; names are the plain environment variable names."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", min_length=1)
    # How this service authenticates to Kafka (shared/messaging/kafka_security.py): its own SCRAM user, over
    # SASL_PLAINTEXT locally and SASL_SSL in Kubernetes. PLAINTEXT only reaches a broker without authentication.
    kafka_security_protocol: str = Field("PLAINTEXT", pattern=r"^(PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL)$")
    kafka_sasl_mechanism: str = Field("SCRAM-SHA-512", pattern=r"^SCRAM-SHA-(256|512)$")
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = Field(None, repr=False)
    kafka_ssl_cafile: str | None = None
    mongodb_url: str = Field("mongodb://127.0.0.1:27017", pattern=r"^mongodb(\+srv)?://")
    # Each service keeps its event log and read models in its own database: `<prefix><service>`.
    database_prefix: str = Field("", pattern=r"^[A-Za-z0-9_]*$")
    mongodb_write_concern: str = "majority"
    # Empty in production (topic names are fixed by the contract); tests and side-by-side stacks set one so
    # that their topics and consumer groups never meet another stack's.
    topic_prefix: str = Field("", pattern=r"^[A-Za-z0-9._-]*$")
    http_host: str = "127.0.0.1"
    # Each service overrides the default (and reads its own <SERVICE>_HTTP_PORT variable).
    http_port: int = Field(8000, ge=1, le=65535)
    # How long start-up waits for Kafka and MongoDB before giving up with a clear error.
    startup_timeout_s: float = Field(20.0, gt=0)
    # Topics missing at start are created with the partitions and retention of shared/contracts/topics.py;
    # TOPIC_PARTITIONS overrides the count for all of them. In Kubernetes, Strimzi KafkaTopics own them.
    topic_partitions: int | None = Field(None, ge=1)
    topic_replication_factor: int = Field(1, ge=1)
    # Records per batch and log: one commit each (shared/messaging/consumer.py).
    max_batch: int = Field(500, ge=1, le=10_000)
    # A log starts a batch at most this often (what arrives meanwhile joins it; a record after a quiet stretch goes
    # at once): fewer, larger commits for a little latency under load. 0 for the services on an order's critical
    # path; a read model can afford more.
    batch_linger_ms: int = Field(0, ge=0, le=5_000)
    # A log whose batch has not been stored for this long is reported by /ready.
    stuck_after_s: float = Field(30.0, gt=0)
    # Only for the fault-injection harness's own test (benchmarks/chaos): consumers process every delivery again,
    # with no deduplication, to prove that the harness notices. Never set it anywhere else.
    unsafe_disable_dedup: bool = False
    # Only for the crash test: the process exits (code 70) right after committing a batch that stored an event of
    # this type, before publishing it — the known point between commit and publish.
    fault_exit_before_publishing: str | None = None
    # HTTP access control (shared/http/tokens.py): bearer JWTs of AUTH_ISSUER for AUTH_AUDIENCE, signed with
    # AUTH_SECRET (HS256) or a key of AUTH_JWKS (a JWKS file or URL; RS256/ES256). A profile other than `dev` refuses
    # to start with the built-in dev secret or issuer.
    auth_profile: str = Field("dev", pattern=r"^[a-z][a-z0-9_-]*$")
    auth_secret: str = Field(DEV_SECRET, min_length=1, repr=False)
    auth_issuer: str = Field(DEV_ISSUER, min_length=1)
    auth_audience: str = Field(DEFAULT_AUDIENCE, min_length=1)
    auth_jwks: str | None = None
    # Clock difference tolerated between the identity provider and this host.
    auth_leeway_s: float = Field(30.0, ge=0, le=300)
    # Protection off, to measure what it costs (benchmarks/order_flow.py --compare-protection). Only the dev profile
    # accepts them: any other refuses to start with either set (auth_settings_problem, sealing_settings_problem).
    # No token is checked: every HTTP caller is `dev.unauthenticated` with every scope (shared/http/auth.py).
    unsafe_disable_http_auth: bool = False
    # Personal fields are written in plaintext instead of sealed; what was sealed still opens, lookups still work,
    # and an erasure then erases nothing written meanwhile (shared/personal_data/sealing.py).
    unsafe_disable_personal_data_sealing: bool = False
    # The event loop a service process runs on (shared/runtime.py): uvloop (libuv) spends less CPU per socket
    # read and write than asyncio's own loop, and a service is mostly socket reads and writes; `asyncio` to rule it
    # out when something misbehaves.
    event_loop: str = Field("uvloop", pattern=r"^(uvloop|asyncio)$")
    # A larger request body is refused with 413 before any route reads it (shared/http/limits.py).
    max_request_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, ge=1024, le=16 * 1_048_576)

    @property
    def partitions(self) -> int:
        """Of every topic (TOPIC_PARTITIONS, or the contract's count)."""
        return self.topic_partitions or DEFAULT_PARTITIONS
