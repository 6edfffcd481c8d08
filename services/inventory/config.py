"""Settings of the inventory service, read from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings


class InventorySettings(ServiceSettings):
    http_port: int = Field(8002, ge=1, le=65535, validation_alias=AliasChoices("INVENTORY_HTTP_PORT", "http_port"))
    # LowStock is published when a sku's available units (all warehouses) fall below its threshold.
    low_stock_threshold: int = Field(5, ge=0)
    # Per-sku overrides, as JSON: LOW_STOCK_THRESHOLDS='{"TSHIRT-RED-M": 20}'.
    low_stock_thresholds: dict[str, int] = Field(default_factory=dict)
