"""Settings of the customer_service service, read from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings


class CustomerServiceSettings(ServiceSettings):
    # The histories are read models: waiting a little gathers an order's events into one write instead of several.
    batch_linger_ms: int = Field(200, ge=0, le=5_000)
    http_port: int = Field(
        8004, ge=1, le=65535, validation_alias=AliasChoices("CUSTOMER_SERVICE_HTTP_PORT", "http_port")
    )
