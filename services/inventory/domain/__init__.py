"""The inventory domain: stock per sku and warehouse, backorders per sku, reservations per order."""

from __future__ import annotations

from uuid import NAMESPACE_URL, uuid5

# Aggregate ids are uuid5(INVENTORY_NAMESPACE, natural key): the same sku, warehouse or order always
# names the same aggregate, so two service instances racing to create it conflict instead of duplicating it.
INVENTORY_NAMESPACE = uuid5(NAMESPACE_URL, "urn:fulfillment:inventory")
