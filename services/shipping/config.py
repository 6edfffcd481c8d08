"""Settings of the shipping service, read from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings


class ShippingSettings(ServiceSettings):
    http_port: int = Field(8003, ge=1, le=65535, validation_alias=AliasChoices("SHIPPING_HTTP_PORT", "http_port"))
