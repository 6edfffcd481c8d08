"""Money integrity and returns into stock on the real stack (issue 11, items 4 and 5), each finding as found:
an order that paid 0.01 for 9.90 of goods, a `1e10` unit price, a refund beyond what was captured, a return for
an unknown order and one of more units than shipped. Each ends in its topic's DLQ with the field and the
reason, and nothing anyone can read back has changed: no order, no stock, no refund.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import ConsumerRecord

from tests.actors import Outside
from tests.factories import new_id, order_placed
from tests.flow import deliver_all, order, order_reaches, stock_in, stock_ready
from tests.integration.conftest import Infrastructure
from tests.kafka_probe import read_all
from tests.stack import RunningStack, eventually


async def dead_letters(
    infrastructure: Infrastructure, stack: RunningStack, topic: str, key: str
) -> list[ConsumerRecord[bytes, bytes]]:
    """The DLQ copies of records keyed `key` (the DLQ is shared by the session's tests), once there is one."""
    dlq = stack.env["TOPIC_PREFIX"] + topic + ".dlq"

    async def mine() -> list[ConsumerRecord[bytes, bytes]]:
        records = await read_all(infrastructure.kafka_bootstrap_servers, dlq, expect=1, within=5)
        return [record for record in records if record.key == key.encode()]

    return await eventually(mine, lambda found: len(found) >= 1, what=f"a dead letter keyed {key} on {dlq}")


def error_of(record: ConsumerRecord[bytes, bytes]) -> str:
    value: bytes | None = dict(record.headers)["error"]
    assert value is not None
    return value.decode()


async def reservation(stack: RunningStack, order_id: str) -> Any:
    return (await stack.get("inventory", f"/reservations/{order_id}")).status_code


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        (lambda data: data["payment"].update(amount="0.01"), "data.payment.amount", "0.01 EUR paid, but the lines"),
        (lambda data: data["lines"][0].update(unit_price="1e10"), "data.lines.0.unit_price", "exponent notation"),
    ],
    ids=["paid-0.01-for-9.90", "unit-price-1e10"],
)
async def test_an_order_whose_money_does_not_add_up_goes_to_the_dlq_and_creates_nothing(
    outside: Outside, stack: RunningStack, infrastructure: Infrastructure, change: Any, field: str, why: str
) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 5)
    placed = order_placed(order_id, [(sku, 1, "9.90")])
    change(placed)

    await outside.place(placed)

    (dead,) = await dead_letters(infrastructure, stack, "storefront.orders", order_id)
    assert error_of(dead).startswith(f"{field}: ") and why in error_of(dead), error_of(dead)
    assert dict(dead.headers)["error-type"] == b"validation"
    assert (await stack.get("orders", f"/orders/{order_id}")).status_code == 404
    assert await reservation(stack, order_id) == 404
    assert await stock_in(stack, sku, "LIS-1") == {"warehouse": "LIS-1", "on_hand": 5, "allocated": 0, "available": 5}


async def test_a_refund_beyond_what_was_captured_cannot_be_had(
    outside: Outside, stack: RunningStack, infrastructure: Infrastructure
) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 5)
    await outside.place(order_placed(order_id, [(sku, 2, "19.90")]))
    await deliver_all(outside, stack, order_id)
    await outside.request_return(order_id, [(sku, 2)])
    await order_reaches(stack, order_id, "return_requested")
    await outside.return_received(order_id, [(sku, 2, "resellable")])
    refunded = await order_reaches(stack, order_id, "refunded")
    assert refunded["totals"] == {"ordered": "39.80", "paid": "39.80", "refunded": "39.80"}

    # The same two units reported back once more (a forged or mistaken scan under a new event id).
    await outside.return_received(order_id, [(sku, 2, "resellable")])

    (dead,) = await dead_letters(infrastructure, stack, "warehouse.events", order_id)
    assert error_of(dead) == (
        f"data.lines.0.quantity: more units of {sku!r} than order {order_id!r} can return: "
        "2 shipped, 2 already returned"
    )
    after = await order(stack, order_id)
    assert after is not None
    assert after["totals"]["refunded"] == "39.80" and [r["amount"] for r in after["refunds"]] == ["39.80"]
    assert await stock_in(stack, sku, "LIS-1") == {"warehouse": "LIS-1", "on_hand": 5, "allocated": 0, "available": 5}


async def test_a_return_for_an_unknown_order_goes_to_the_dlq_and_changes_no_stock(
    outside: Outside, stack: RunningStack, infrastructure: Infrastructure
) -> None:
    sku, unknown = new_id("SKU"), new_id("SO-UNKNOWN")
    await stock_ready(outside, stack, sku, "LIS-1", 3)

    await outside.return_received(unknown, [(sku, 1, "resellable")])

    (dead,) = await dead_letters(infrastructure, stack, "warehouse.events", unknown)
    assert error_of(dead) == f"data.order_id: unknown order {unknown!r}: inventory never reserved stock for it"
    assert await reservation(stack, unknown) == 404  # no phantom reservation
    assert await stock_in(stack, sku, "LIS-1") == {"warehouse": "LIS-1", "on_hand": 3, "allocated": 0, "available": 3}


async def test_a_return_of_more_units_than_shipped_goes_to_the_dlq_and_changes_no_stock(
    outside: Outside, stack: RunningStack, infrastructure: Infrastructure
) -> None:
    sku, order_id = new_id("SKU"), new_id("SO")
    await stock_ready(outside, stack, sku, "LIS-1", 5)
    await outside.place(order_placed(order_id, [(sku, 1, "10.00")]))
    await deliver_all(outside, stack, order_id)
    await outside.request_return(order_id, [(sku, 1)])
    await order_reaches(stack, order_id, "return_requested")

    await outside.return_received(order_id, [(sku, 50, "resellable")])  # one shipped, fifty "returned"

    (dead,) = await dead_letters(infrastructure, stack, "warehouse.events", order_id)
    assert error_of(dead).startswith("data.lines.0.quantity: ") and "1 shipped, 0 already returned" in error_of(dead)
    assert await stock_in(stack, sku, "LIS-1") == {"warehouse": "LIS-1", "on_hand": 4, "allocated": 0, "available": 4}
    waiting = await order(stack, order_id)
    assert waiting is not None and waiting["status"] == "return_requested" and waiting["totals"]["refunded"] == "0"

    # The one unit that did ship comes back: that return is taken and refunded.
    await outside.return_received(order_id, [(sku, 1, "resellable")])
    refunded = await order_reaches(stack, order_id, "refunded")
    assert refunded["totals"]["refunded"] == "10.00"
    await eventually(lambda: stock_in(stack, sku, "LIS-1"), lambda s: s["on_hand"] == 5, what="one unit restocked")
