"""Every published domain event becomes a valid message of the inventory topic, keyed as the topic says."""

from __future__ import annotations

from uuid import uuid4

from services.inventory.adapters.outbound import to_outbound
from shared.contracts.envelope import encode, parse_message
from shared.contracts.inventory import INVENTORY_TYPES
from shared.contracts.topics import INVENTORY_EVENTS
from tests.unit.deliveries import deliver
from tests.unit.inventory.factories import (
    SKU,
    delivery,
    inventory,
    order_cancelled,
    reservation_requested,
    return_received,
    shipment_dispatched,
    stock_adjusted,
    stock_received,
)
from tests.unit.inventory.published import domain_events, published


def test_every_published_event_is_a_valid_inventory_message() -> None:
    app = inventory()
    deliver(app.receive_stock, delivery(), stock_received("LIS-1", 6))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-1", (SKU, 4)))
    deliver(app.reserve_stock, delivery(), reservation_requested("SO-2", (SKU, 5)))
    deliver(app.adjust_stock, delivery(), stock_adjusted(-5))
    deliver(app.consume_allocation, delivery(), shipment_dispatched("SO-1", "LIS-1", (SKU, 4)))
    deliver(app.receive_return, delivery(), return_received("SO-1", (SKU, 1, "resellable")))
    deliver(app.release_order, delivery(), order_cancelled("SO-2"))

    messages = published(app)

    assert {m.type for m in messages} == set(INVENTORY_TYPES)
    for event, message in ((e, to_outbound(e)) for e in domain_events(app)):
        if message is None:
            continue
        assert message.topic == INVENTORY_EVENTS
        assert message.type in INVENTORY_TYPES
        data = message.data.model_dump()
        by_order = "allocations" in data or "lines" in data
        assert message.key == (data["order_id"] if by_order else data["sku"])
        raw = encode(uuid4(), message.type, event.timestamp, message.data)
        assert parse_message(raw, INVENTORY_TYPES).data == message.data


def test_events_that_are_not_news_are_not_published() -> None:
    app = inventory()
    deliver(app.release_order, delivery(), order_cancelled("SO-NEVER-RESERVED"))

    assert published(app) == []
