"""Settings of the inventory service, read from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings


class InventorySettings(ServiceSettings):
    http_port: int = Field(8002, ge=1, le=65535, validation_alias=AliasChoices("INVENTORY_HTTP_PORT", "http_port"))
