"""Settings of the shipping service, read from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings


class ShippingSettings(ServiceSettings):
    # Shipping is off the path to ShipmentRequested and runs one log (every scan and update of every order): a
    # batch at most every 100 ms lets an order's messages share commits, relay flushes and read-model writes.
    batch_linger_ms: int = Field(100, ge=0, le=5_000)
    http_port: int = Field(8003, ge=1, le=65535, validation_alias=AliasChoices("SHIPPING_HTTP_PORT", "http_port"))
    # How long an early message (a carrier update before its dispatch, a scan before its request) may wait for
    # what it names before it goes to its topic's DLQ, and how often the owner of the log looks.
    early_arrival_patience_s: float = Field(
        86_400.0, gt=0, validation_alias=AliasChoices("EARLY_ARRIVAL_PATIENCE_S", "early_arrival_patience_s")
    )
    early_arrival_check_s: float = Field(
        60.0, gt=0, validation_alias=AliasChoices("EARLY_ARRIVAL_CHECK_S", "early_arrival_check_s")
    )
