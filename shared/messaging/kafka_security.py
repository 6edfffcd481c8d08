"""How every Kafka client of the project authenticates: one place turning settings into client arguments.

Locally the broker listens on SASL_PLAINTEXT with SCRAM-SHA-512 users made when its storage is formatted
(`deploy/local/kafka_users.py`); in Kubernetes the listener is TLS + SCRAM and Strimzi owns the users. A client
without credentials (`PLAINTEXT`) is refused by both.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from faststream.security import BaseSecurity, SASLScram256, SASLScram512

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256")


class KafkaSettings(Protocol):
    kafka_security_protocol: str
    kafka_sasl_mechanism: str
    kafka_sasl_username: str | None
    kafka_sasl_password: str | None
    kafka_ssl_cafile: str | None


@dataclass(frozen=True)
class KafkaSecurity:
    protocol: str = "PLAINTEXT"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    mechanism: str = "SCRAM-SHA-512"
    # The CA that signed the broker's certificate (SSL / SASL_SSL); None uses the system's trust store.
    ssl_cafile: str | None = None

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL={self.protocol!r}: expected one of {', '.join(PROTOCOLS)}")
        if self.sasl:
            if self.mechanism not in MECHANISMS:
                raise ValueError(f"KAFKA_SASL_MECHANISM={self.mechanism!r}: expected one of {', '.join(MECHANISMS)}")
            if not self.username or not self.password:
                raise ValueError(f"{self.protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @classmethod
    def from_settings(cls, settings: KafkaSettings) -> KafkaSecurity:
        return cls(
            protocol=settings.kafka_security_protocol,
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password,
            mechanism=settings.kafka_sasl_mechanism,
            ssl_cafile=settings.kafka_ssl_cafile,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> KafkaSecurity:
        """The same variables a service reads (for tools that have no settings object)."""
        return cls(
            protocol=env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
            username=env.get("KAFKA_SASL_USERNAME") or None,
            password=env.get("KAFKA_SASL_PASSWORD") or None,
            mechanism=env.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
            ssl_cafile=env.get("KAFKA_SSL_CAFILE") or None,
        )

    def env(self) -> dict[str, str]:
        """What a child process is given so that it connects as this user."""
        values = {"KAFKA_SECURITY_PROTOCOL": self.protocol, "KAFKA_SASL_MECHANISM": self.mechanism}
        if self.username and self.password:
            values |= {"KAFKA_SASL_USERNAME": self.username, "KAFKA_SASL_PASSWORD": self.password}
        if self.ssl_cafile:
            values["KAFKA_SSL_CAFILE"] = self.ssl_cafile
        return values

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producer, consumer and admin client."""
        kwargs: dict[str, Any] = {"security_protocol": self.protocol}
        if self.sasl:
            kwargs |= {
                "sasl_mechanism": self.mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        if self.tls:
            kwargs["ssl_context"] = self._ssl_context()
        return kwargs

    def faststream(self) -> BaseSecurity | None:
        """The same, as FastStream's security object for `KafkaBroker(security=...)`."""
        if not self.sasl:
            return BaseSecurity(ssl_context=self._ssl_context()) if self.tls else None
        assert self.username is not None and self.password is not None
        scram = SASLScram512 if self.mechanism == "SCRAM-SHA-512" else SASLScram256
        return scram(
            self.username,
            self.password,
            ssl_context=self._ssl_context() if self.tls else None,
            use_ssl=self.tls,
        )

    def _ssl_context(self) -> Any:
        from aiokafka.helpers import create_ssl_context

        return create_ssl_context(cafile=self.ssl_cafile)


PLAINTEXT = KafkaSecurity()
