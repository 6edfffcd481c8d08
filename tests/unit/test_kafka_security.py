"""Settings → Kafka client arguments (shared/messaging/kafka_security.py)."""

from __future__ import annotations

import pytest
from faststream.security import SASLScram512

from shared.messaging.kafka_security import KafkaSecurity
from shared.settings import ServiceSettings


def test_a_service_user_becomes_aiokafka_and_faststream_arguments() -> None:
    settings = ServiceSettings(
        kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="orders", kafka_sasl_password="s3cret"
    )
    security = KafkaSecurity.from_settings(settings)

    assert security.client_kwargs() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "orders",
        "sasl_plain_password": "s3cret",
    }
    scram = security.faststream()
    assert isinstance(scram, SASLScram512) and scram.username == "orders" and not scram.use_ssl
    assert "s3cret" not in repr(security) and "s3cret" not in repr(settings)


def test_without_settings_a_client_has_no_credentials() -> None:
    security = KafkaSecurity.from_settings(ServiceSettings())

    assert security.client_kwargs() == {"security_protocol": "PLAINTEXT"}
    assert security.faststream() is None


def test_sasl_without_a_user_is_refused_naming_the_variables() -> None:
    with pytest.raises(ValueError, match="KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        KafkaSecurity.from_env({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})


def test_the_environment_round_trips() -> None:
    security = KafkaSecurity("SASL_SSL", "shipping", "pw", "SCRAM-SHA-512", ssl_cafile="/ca.crt")

    assert KafkaSecurity.from_env(security.env()) == security
