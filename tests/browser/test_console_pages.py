"""The console's search, order page actions, "as of" view and manager page in a real browser against the real
stack; each test also checks its pages at phone width (390 px: nothing sticks out sideways) and saves screenshots
under `.local/screenshots/`."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.async_api import BrowserContext, Page, expect

from cli.tokens import bearer
from tests.actors import Outside
from tests.browser.conftest import Console, fits_a_phone, screenshot, sign_in
from tests.browser.test_console import order_known
from tests.factories import new_id, order_placed
from tests.flow import dispatch, shipments_created, stock_ready
from tests.stack import RunningStack, eventually


async def search(page: Page, label: str, value: str) -> None:
    await page.goto("/orders")
    await page.get_by_label(label, exact=True).fill(value)
    await page.get_by_label(label, exact=True).press("Enter")  # the keyboard submits the form


async def test_an_agent_finds_an_order_by_email_and_by_tracking_number(
    outside: Outside, stack: RunningStack, context: BrowserContext
) -> None:
    sku, warehouse, order_id = new_id("SKU"), f"W{uuid.uuid4().hex[:8].upper()}", new_id("SO")
    email = f"bea.{uuid.uuid4().hex[:8]}@example.com"
    await stock_ready(outside, stack, sku, warehouse, 2)
    await outside.place(order_placed(order_id, [(sku, 1, "20.00")], email=email))
    (created,) = await shipments_created(stack, order_id)
    tracking = await dispatch(outside, stack, created["shipment_id"])

    async def found_by_tracking() -> list[str]:
        found = await stack.json("customer_service", "/orders", tracking_number=tracking)
        return [order["order_id"] for order in (found or {}).get("orders", [])]

    await eventually(found_by_tracking, lambda ids: ids == [order_id], what=f"{order_id} found by {tracking}")

    page = await sign_in(context, "Support agent", "bea")
    await page.keyboard.press("Tab")  # the first stop of the keyboard is the way past the navigation
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()

    await search(page, "E-mail", email)
    await expect(page.locator("#found-count")).to_have_text("1 order found.")
    await expect(page.locator("#results").get_by_role("link", name=order_id)).to_be_visible()
    await screenshot(page, "agent-searches-by-email")

    await search(page, "Tracking number", tracking)
    await expect(page.locator("#found-count")).to_have_text("1 order found.")
    await page.locator("#results").get_by_role("link", name=order_id).click()
    shipment = page.locator(f'#shipments [data-shipment="{created["shipment_id"]}"]')
    await expect(shipment).to_contain_text(f"tracking {tracking}")
    await expect(page.locator("#trace-id")).to_have_text(re.compile(r"^[0-9a-f]{32}$"))
    await screenshot(page, "agent-finds-by-tracking-number")
    await fits_a_phone(page, "order-page")

    await search(page, "Tracking number", "TN-NOBODY-HAS-THIS")
    await expect(page.get_by_text("No order matches.")).to_be_visible()
    await page.goto("/orders?email=nobody")
    await expect(page.get_by_role("alert")).to_have_text("E-mail: “nobody” is not an e-mail address.")
    await fits_a_phone(page, "order-search")


async def test_an_agent_opens_a_case_and_adds_a_note_and_sees_both_without_a_reload(
    outside: Outside, stack: RunningStack, context: BrowserContext
) -> None:
    order_id = new_id("SO")
    await outside.place(order_placed(order_id, [(new_id("SKU"), 1, "30.00")]))
    await order_known(stack, order_id)

    page = await sign_in(context, "Support agent", "caro")
    await page.goto(f"/orders/{order_id}")
    await page.evaluate("window.sameDocument = true")  # a reload or a navigation would forget it

    await page.get_by_label("Category", exact=True).select_option(label="Damaged item")
    await page.get_by_label("Summary", exact=True).fill("the mug arrived in pieces")
    await page.get_by_role("button", name="Open case").click()
    opened = page.locator("#case").get_by_role("status")
    await expect(opened).to_have_text(re.compile(r"^Case CASE-\S+ opened \(high priority\)\.$"))
    case_id = (await opened.inner_text()).split()[1]
    case = page.locator(f'#order-cases [data-case="{case_id}"]')
    await expect(case).to_contain_text("the mug arrived in pieces")
    await expect(case).to_contain_text("opened by caro")

    await expect(page.get_by_label("Case", exact=True)).to_have_value(case_id)
    await page.get_by_label("Note", exact=True).fill("asked for a photo of the pieces")
    await page.get_by_role("button", name="Add note").click()
    await expect(page.locator("#note").get_by_role("status")).to_have_text(f"Note added to {case_id}.")
    await expect(case.locator(".notes")).to_contain_text("asked for a photo of the pieces — caro")
    await expect(page.locator("#timeline")).to_contain_text(f"Note on {case_id} by caro: asked for a photo")

    # An empty note is refused in words, next to the form.
    await page.get_by_label("Note", exact=True).fill(" ")
    await page.get_by_role("button", name="Add note").click()
    await expect(page.locator("#note").get_by_role("alert")).to_have_text("Write the note.")

    assert await page.evaluate("window.sameDocument") is True
    assert page.url.endswith(f"/orders/{order_id}")
    await screenshot(page, "agent-opens-a-case-and-adds-a-note")


async def test_the_as_of_control_shows_the_order_as_it_was_before_its_cancellation(
    outside: Outside, stack: RunningStack, context: BrowserContext
) -> None:
    order_id = new_id("SO")
    await outside.place(order_placed(order_id, [(new_id("SKU"), 1, "8.00")]))
    await order_known(stack, order_id)
    async with httpx.AsyncClient(base_url=stack.url("customer_service"), headers=bearer("support_agent")) as client:
        asked = await client.post(f"/orders/{order_id}/cancellation", json={"reason": "duplicate_order"})
    assert asked.status_code == 202, asked.text

    page = await sign_in(context, "Support agent", "dani")
    await page.goto(f"/orders/{order_id}")
    await expect(page.locator("#order-status")).to_have_text("cancelled")
    timeline = page.locator("#timeline")
    await expect(timeline).to_contain_text("Order cancelled: duplicate_order")

    # The time of the first entry opens the order as it was right after it: not cancelled, no action offered.
    await timeline.locator("li").filter(has_text="Order received").get_by_role("link").click()
    await expect(page.locator("#as-of-banner")).to_contain_text("a past state")
    await expect(page.locator("#order-status")).not_to_have_text("cancelled")
    await expect(page.locator("#timeline")).not_to_contain_text("Order cancelled")
    await expect(page.get_by_role("button", name="Open case")).to_have_count(0)
    await screenshot(page, "order-as-of-an-earlier-moment")

    # A moment before the order existed is said in words.
    await page.get_by_label("As of (UTC)").fill("2020-01-01T00:00:00")
    await page.get_by_role("button", name="Show then").click()
    await expect(page.get_by_role("alert")).to_contain_text(f"order {order_id!r} did not exist at 2020-01-01")
    await page.get_by_role("link", name="Back to now").click()
    await expect(page.locator("#order-status")).to_have_text("cancelled")


async def test_the_manager_sees_charts_a_replenishment_list_and_downloads_a_report(
    outside: Outside, stack: RunningStack, context: BrowserContext, console: Console
) -> None:
    sku, warehouse = new_id("SKU"), f"W{uuid.uuid4().hex[:8].upper()}"
    await stock_ready(outside, stack, sku, warehouse, 3)
    await outside.place(order_placed(new_id("SO"), [(sku, 2, "12.00")]))  # 1 left of a sku that sells

    async def to_order() -> list[str]:
        found = await stack.json("reporting", "/replenishment")
        return [row["sku"] for row in (found or {}).get("order_now", [])]

    await eventually(to_order, lambda skus: sku in skus, what=f"{sku} under its reorder point")

    page = await sign_in(context, "Manager", "mia")
    await expect(page.locator('[data-kpi="orders"] .trend')).to_be_visible()
    # The figures are in the HTML; the chart library is a deferred script that may still be loading.
    await page.wait_for_function("window.Chart !== undefined && Chart.getChart('chart-orders') !== undefined")
    drawn = await page.evaluate("Chart.getChart('chart-orders').data.datasets[0].data.length")
    assert drawn == 30  # one bar per day of the default range
    await expect(page.locator(f'#replenishment [data-sku="{sku}"]')).to_contain_text(warehouse)
    await screenshot(page, "manager-charts-and-replenishment")

    await page.get_by_label("By", exact=True).select_option("week")
    await page.get_by_role("button", name="Show").click()
    await expect(page.get_by_role("heading", name="By week")).to_be_visible()
    await page.wait_for_function("window.Chart !== undefined && Chart.getChart('chart-orders') !== undefined")
    weeks = await page.evaluate("Chart.getChart('chart-orders').data.labels")
    assert 4 <= len(weeks) <= 6 and all(re.match(r"^\d{4}-W\d{2}$", label) for label in weeks), weeks

    await page.get_by_role("button", name="Produce report").click()
    produced = page.locator("#reports").get_by_role("status")
    await expect(produced).to_contain_text("produced")
    csv_link = page.locator("#report-list a", has_text="CSV").first
    report = await context.request.get(f"{console.url}{await csv_link.get_attribute('href')}")
    assert report.status == 200 and report.headers["content-type"].startswith("text/csv")
    assert "attachment" in report.headers["content-disposition"]
    await fits_a_phone(page, "manager")
