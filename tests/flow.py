"""Steps of the fulfillment flow as a test drives them: act through the outside world (Kafka), then wait
until the services' HTTP APIs show the effect."""

from __future__ import annotations

from typing import Any

from tests.actors import Outside
from tests.stack import RunningStack, eventually


async def order(stack: RunningStack, order_id: str) -> dict[str, Any] | None:
    result: dict[str, Any] | None = await stack.json("orders", f"/orders/{order_id}")
    return result


async def order_reaches(stack: RunningStack, order_id: str, status: str, within: float = 60.0) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        return await order(stack, order_id)

    found = await eventually(
        probe, lambda o: o is not None and o["status"] == status, within=within, what=f"{order_id} {status}"
    )
    assert found is not None
    return found


async def stock(stack: RunningStack, sku: str) -> dict[str, Any] | None:
    result: dict[str, Any] | None = await stack.json("inventory", f"/stock/{sku}")
    return result


async def stock_in(stack: RunningStack, sku: str, warehouse: str) -> dict[str, int]:
    found = await stock(stack, sku)
    assert found is not None, f"no stock record for {sku}"
    return next(w for w in found["warehouses"] if w["warehouse"] == warehouse)


async def stock_ready(outside: Outside, stack: RunningStack, sku: str, warehouse: str, quantity: int) -> None:
    """Receive stock and wait until inventory shows it on hand."""
    before = await stock(stack, sku)
    on_hand = 0 if before is None else sum(w["on_hand"] for w in before["warehouses"] if w["warehouse"] == warehouse)
    await outside.receive_stock(sku, warehouse, quantity)

    async def probe() -> dict[str, Any] | None:
        return await stock(stack, sku)

    await eventually(
        probe,
        lambda s: (
            s is not None
            and any(w["warehouse"] == warehouse and w["on_hand"] >= on_hand + quantity for w in s["warehouses"])
        ),
        what=f"{quantity} x {sku} on hand in {warehouse}",
    )


async def shipments(stack: RunningStack, order_id: str) -> list[dict[str, Any]]:
    result = await stack.json("shipping", "/shipments", order_id=order_id)
    return list(result or [])


async def shipments_created(stack: RunningStack, order_id: str, count: int = 1) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]]:
        return await shipments(stack, order_id)

    return await eventually(probe, lambda s: len(s) >= count, what=f"{count} shipment(s) of {order_id}")


async def shipment(stack: RunningStack, shipment_id: str) -> dict[str, Any] | None:
    result: dict[str, Any] | None = await stack.json("shipping", f"/shipments/{shipment_id}")
    return result


async def shipment_reaches(stack: RunningStack, shipment_id: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        return await shipment(stack, shipment_id)

    found = await eventually(probe, lambda s: s is not None and s["status"] == status, what=f"{shipment_id} {status}")
    assert found is not None
    return found


async def dispatch(outside: Outside, stack: RunningStack, shipment_id: str) -> str:
    """Pick, pack and hand to the carrier; returns the tracking number."""
    tracking = f"TN{shipment_id.replace('-', '')[-14:]}"
    await outside.pick(shipment_id)
    await outside.pack(shipment_id)
    await outside.dispatch(shipment_id, tracking)
    await shipment_reaches(stack, shipment_id, "dispatched")
    return tracking


async def deliver_all(outside: Outside, stack: RunningStack, order_id: str, count: int = 1) -> None:
    for found in await shipments_created(stack, order_id, count):
        tracking = await dispatch(outside, stack, found["shipment_id"])
        await outside.track(tracking, "in_transit")
        await outside.track(tracking, "delivered")
    await order_reaches(stack, order_id, "delivered")
