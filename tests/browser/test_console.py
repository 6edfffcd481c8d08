"""The console in a real browser against the real stack: what an agent, a logistics user and a manager see and do.

Each test plays the outside world over Kafka (tests/actors.py), then works only through the pages, waiting for
what a person would see (Playwright's auto-waiting `expect`), and saves a screenshot under `.local/screenshots/`.
"""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.async_api import BrowserContext, Page, expect

from cli.tokens import bearer
from tests.actors import Outside
from tests.browser.conftest import Console, screenshot, sign_in
from tests.factories import new_id, order_placed
from tests.flow import shipment_reaches, shipments_created, stock_ready
from tests.stack import RunningStack, eventually


async def order_known(stack: RunningStack, order_id: str) -> None:
    """Wait until customer_service has the order's history (what the order page reads)."""

    async def probe() -> int:
        return (await stack.get("customer_service", f"/orders/{order_id}/history")).status_code

    await eventually(probe, lambda status: status == 200, what=f"history of {order_id}")


async def test_an_agent_finds_an_order_by_email_reads_its_timeline_and_cancels_it(
    outside: Outside, stack: RunningStack, context: BrowserContext
) -> None:
    order_id, email = new_id("SO"), f"ana.{uuid.uuid4().hex[:8]}@example.com"
    await outside.place(order_placed(order_id, [(new_id("SKU"), 1, "12.50")], email=email))
    await order_known(stack, order_id)

    page = await sign_in(context, "Support agent", "ana")
    await page.get_by_label("Order id or e-mail").fill(email)
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("link", name=order_id).click()

    timeline = page.locator("#timeline")
    await expect(timeline).to_contain_text("Order received")
    await expect(page.get_by_role("button", name="Cancel order")).to_be_visible()
    await page.get_by_label("Reason (required)").fill("customer_changed_mind")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Cancel order").click()

    await expect(page.get_by_role("status")).to_contain_text("Cancellation requested")
    await expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)
    await expect(page.locator("#order-status")).to_have_text("cancelled")
    await expect(timeline).to_contain_text("Order cancelled: customer_changed_mind")
    assert page.url.endswith(f"/orders/{order_id}")  # the same page all along: no reload, no navigation
    await screenshot(page, "agent-cancels-an-order")


async def test_a_logistics_user_dispatches_a_shipment_from_the_warehouse_queue(
    outside: Outside, stack: RunningStack, context: BrowserContext
) -> None:
    sku, warehouse, order_id = new_id("SKU"), f"W{uuid.uuid4().hex[:8].upper()}", new_id("SO")
    await stock_ready(outside, stack, sku, warehouse, 3)
    await outside.place(order_placed(order_id, [(sku, 1, "9.90")]))
    (created,) = await shipments_created(stack, order_id)
    shipment_id = created["shipment_id"]

    page = await sign_in(context, "Logistics", "lu")
    await page.get_by_label("Warehouse").fill(warehouse)
    await page.get_by_role("button", name="Show queue").click()
    queue = page.locator("#queue")
    await page.get_by_role("button", name=f"Picked {shipment_id}").click()
    await page.get_by_role("button", name=f"Packed {shipment_id}").click()
    tracking = f"TN{uuid.uuid4().hex[:10].upper()}"
    await page.get_by_label("Tracking number").fill(tracking)
    await page.get_by_role("button", name=f"Dispatch {shipment_id}").click()

    await expect(page.get_by_role("status")).to_have_text(f"{shipment_id} dispatched.")
    await expect(queue.locator(f'[data-shipment="{shipment_id}"]')).to_have_count(0)
    await expect(queue.locator('[data-queue="dispatch"]')).to_contain_text("Nothing waiting")
    dispatched = await shipment_reaches(stack, shipment_id, "dispatched")
    assert dispatched["tracking_number"] == tracking
    await screenshot(page, "logistics-dispatches-a-shipment")


async def test_a_manager_sees_the_kpi_tiles_change_after_orders_flow(
    outside: Outside, stack: RunningStack, context: BrowserContext
) -> None:
    page = await sign_in(context, "Manager", "mia")
    orders_tile = page.locator('[data-kpi="orders"] .value')
    await expect(orders_tile).to_have_text(re.compile(r"^[0-9,]+$"))
    before = await tile_number(page, "orders")

    for _ in range(3):
        await outside.place(order_placed(new_id("SO"), [(new_id("SKU"), 2, "15.00")]))

    async def shown_and_counted() -> tuple[int, int]:
        figures = await stack.json("reporting", "/kpis")
        return await tile_number(page, "orders"), int(figures["fulfillment"]["orders"]) if figures else -1

    # The page asks again by itself: its tile reaches what the reporting service counts, three orders more at least.
    await eventually(
        shown_and_counted,
        lambda seen: seen[0] >= before + 3 and seen[0] == seen[1],
        what="the orders tile counting the new orders",
    )
    await screenshot(page, "manager-kpi-tiles")

    # At phone width the tiles reflow: nothing sticks out sideways.
    await page.set_viewport_size({"width": 390, "height": 844})
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await screenshot(page, "manager-kpi-tiles-phone")


async def tile_number(page: Page, kpi: str) -> int:
    return int((await page.locator(f'[data-kpi="{kpi}"] .value').inner_text()).replace(",", ""))


async def test_a_logistics_user_sees_no_cancel_action_and_a_cancel_sent_by_hand_is_refused(
    outside: Outside, stack: RunningStack, context: BrowserContext, console: Console
) -> None:
    order_id = new_id("SO")
    await outside.place(order_placed(order_id, [(new_id("SKU"), 1, "5.00")]))
    await order_known(stack, order_id)

    page = await sign_in(context, "Logistics", "lu")
    await expect(page.get_by_role("link", name="Orders")).to_have_count(0)
    answer = await page.goto(f"/orders/{order_id}")
    assert answer is not None and answer.status == 403
    await expect(page.get_by_role("alert")).to_contain_text("does not open this page")
    await expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)
    await screenshot(page, "logistics-sees-no-cancel")

    # The same POST the cancel button sends, by hand with the signed-in user's cookie: the service refuses it.
    by_hand = await context.request.post(
        f"{console.url}/orders/{order_id}/cancel", form={"reason": "customer_changed_mind"}
    )
    assert by_hand.status == 403
    assert "refused" in await by_hand.text()
    async with httpx.AsyncClient(base_url=stack.url("customer_service"), headers=bearer("logistics")) as client:
        direct = await client.post(f"/orders/{order_id}/cancellation", json={"reason": "customer_changed_mind"})
    assert direct.status_code == 403 and "cancellations:request" in direct.json()["detail"]
    history = await stack.json("customer_service", f"/orders/{order_id}/history")
    assert history["status"] != "cancelled"


async def test_a_negative_review_past_its_target_shows_on_the_home_page(
    outside: Outside, stack: RunningStack, context: BrowserContext
) -> None:
    order_id = new_id("SO")
    await outside.place(order_placed(order_id, [(new_id("SKU"), 3, "50.00")]))  # 150.00: a valuable order
    await order_known(stack, order_id)
    await outside.review(order_id, 1, "box arrived empty")

    async def complaint() -> list[dict[str, object]]:
        history = await stack.json("customer_service", f"/orders/{order_id}/history")
        return [case for case in (history or {}).get("cases", []) if case["category"] == "complaint"]

    (case,) = await eventually(complaint, lambda found: len(found) == 1, what=f"the complaint on {order_id}")
    assert case["priority"] == "urgent"  # 1 star on an order over COMPLAINT_HIGH_VALUE

    page = await sign_in(context, "Manager", "mia")
    await page.get_by_role("link", name="Home").click()
    # The stack's urgent first-response target is two seconds: the page asks again until the breach is recorded.
    row = page.locator(f'#cases [data-case="{case["case_id"]}"]')
    await expect(row).to_contain_text("breached")
    await expect(row).to_contain_text("urgent")
    breached = page.locator('[data-queue="cases_breached"] .value')
    await expect(breached).to_have_text(re.compile(r"^[1-9][0-9]*$"))
    await screenshot(page, "home-breached-case")

    await page.locator('[data-queue="cases_breached"] a').click()
    await expect(page.get_by_role("heading", name="Cases past their target")).to_be_visible()
    await expect(page.locator(f'[data-case="{case["case_id"]}"]')).to_contain_text(order_id)
