"""The console as a process in front of the session's stack, and a headless Chromium driving it.

Chromium is Debian's (`apt-get install chromium`; `.ci/run` installs it when missing), launched by its path:
Playwright downloads no browser of its own here. Each test saves a screenshot of its page under
`.local/screenshots/` (README, "Console").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from pymongo import AsyncMongoClient

from tests.actors import Outside
from tests.integration.conftest import Infrastructure, infrastructure, outside_of, own_stack  # noqa: F401
from tests.processes import REPO_ROOT
from tests.stack import RunningStack, free_port
from tests.support_desk import TINY_URGENT_TARGET

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = REPO_ROOT / ".local" / "screenshots"
# How long a page may take to show what a test waits for (events travel through Kafka first).
PATIENCE_MS = 60_000


@dataclass
class Console:
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="package")
async def stack(
    infrastructure: Infrastructure,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningStack]:
    """The five services on topics and databases of their own, stopped when the browser tests are done (the
    integration tests' session stack is another one); their topics and databases are dropped afterwards."""
    namespace = f"br{uuid.uuid4().hex[:8]}"
    try:
        logs = tmp_path_factory.mktemp("browser-stack-logs")
        with own_stack(infrastructure, logs, namespace, settings=TINY_URGENT_TARGET) as running:
            yield running
    finally:
        await forget(infrastructure, namespace)


async def forget(infra: Infrastructure, namespace: str) -> None:
    """Drop the namespace's topics and databases: a broker that keeps every test run's topics runs out of heap."""
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers, **infra.security().client_kwargs())
    await admin.start()
    try:
        topics = [topic for topic in await admin.list_topics() if topic.startswith(f"{namespace}.")]
        if topics:
            await admin.delete_topics(topics)
    finally:
        await admin.close()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
    try:
        for name in await mongo.list_database_names():
            if name.startswith(f"{namespace}_"):
                await mongo.drop_database(name)
    finally:
        await mongo.close()


@pytest.fixture(scope="package")
async def outside(stack: RunningStack, infrastructure: Infrastructure) -> AsyncIterator[Outside]:  # noqa: F811
    """Storefront, warehouse and carriers of the browser tests' stack."""
    async with outside_of(stack, infrastructure) as world:
        yield world


@pytest.fixture(scope="package")
def console(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """`python -m console.main` on a free port, pointed at the session's services."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("console-logs") / "console.log"
    env = {
        **os.environ,
        "CONSOLE_HTTP_PORT": str(port),
        "CUSTOMER_SERVICE_URL": stack.url("customer_service"),
        "SHIPPING_URL": stack.url("shipping"),
        "REPORTING_URL": stack.url("reporting"),
        "CONSOLE_REFRESH_S": "1",
    }
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "console.main"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    running = Console(f"http://127.0.0.1:{port}", proc, log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the console exited with {proc.returncode}:\n{running.output()}")
            try:
                if httpx.get(f"{running.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the console did not answer /health within 30 s:\n{running.output()}")
            time.sleep(0.2)
        yield running
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (once, before anything runs)
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        expect.set_options(timeout=PATIENCE_MS)
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser, console: Console) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies) at desktop width."""
    fresh = await browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 900})
    yield fresh
    await fresh.close()


async def sign_in(context: BrowserContext, role_title: str, name: str) -> Page:
    """Sign in through the sign-in page as a person would: a name, a role, the button."""
    page = await context.new_page()
    await page.goto("/")
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label(role_title, exact=True).check()
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text(f"{name} · {role_title}")).to_be_visible()
    return page


async def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
