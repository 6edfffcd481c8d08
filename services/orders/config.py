"""Settings of the orders service, read from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings


class OrdersSettings(ServiceSettings):
    http_port: int = Field(8001, ge=1, le=65535, validation_alias=AliasChoices("ORDERS_HTTP_PORT", "http_port"))
