"""The shipping domain: shipments, and the lookups the service needs without a separate database."""

from __future__ import annotations

from uuid import NAMESPACE_URL, uuid5

# Every aggregate id of the service is uuid5(SHIPPING_NAMESPACE, "<kind>:<natural key>"): the kind keeps a
# tracking number and a shipment id that happen to be spelled alike from sharing an aggregate.
SHIPPING_NAMESPACE = uuid5(NAMESPACE_URL, "urn:fulfillment:shipping")
