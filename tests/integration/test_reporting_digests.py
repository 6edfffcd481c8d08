"""Digests on a schedule, with two replicas: the scenario is on the topics before the service starts; the schedule
(backfilling from 2026-11-02) produces every daily and weekly digest once, stores them, and mails exactly those
with data to a local SMTP server this test runs; the weekly one has the expected figures in JSON, HTML, CSV and
PDF (the PDF opens and has the text); one can be produced on demand."""

from __future__ import annotations

import email
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader
from typer.testing import CliRunner

from cli.main import app as cli
from cli.tokens import bearer
from shared.messaging.broker import ensure_topics
from tests.integration.conftest import Infrastructure
from tests.kafka_probe import producer
from tests.kafka_users import security_for
from tests.reporting_scenario import SETTINGS, events
from tests.stack import RunningStack, eventually, free_port

SINCE = date(2026, 11, 2)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
async def scheduled(
    infrastructure: Infrastructure, inbox: tuple[Inbox, int], tmp_path_factory: pytest.TempPathFactory
) -> Any:
    namespace = f"rd{uuid.uuid4().hex[:8]}"
    prefix = f"{namespace}."
    # The scenario is on the topics before the service exists: its schedule then has a backlog to wait for.
    await ensure_topics(infrastructure.kafka_bootstrap_servers, None, 1, prefix=prefix, security=security_for())
    async with producer(infrastructure.kafka_bootstrap_servers) as kafka:
        for event in events():
            await kafka.send_and_wait(prefix + event.topic, event.value(), key=event.key.encode())
    env = {
        **infrastructure.env(),
        "TOPIC_PREFIX": prefix,
        "DATABASE_PREFIX": f"{namespace}_",
        **SETTINGS,
        "DIGEST_SCHEDULE": "true",
        "DIGEST_SINCE": SINCE.isoformat(),
        "DIGEST_HOUR_UTC": "0",
        "DIGEST_CHECK_EVERY_S": "1",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(inbox[1]),
        "SMTP_TO": '["manager@example.com"]',
    }
    stack = RunningStack(env, Path(tmp_path_factory.mktemp("digest-logs")), replicas=2)
    try:
        stack.start("reporting")
        yield stack
    finally:
        stack.stop()


async def get(stack: RunningStack, path: str, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.url("reporting"), timeout=30, headers=bearer("manager")) as client:
        return await client.get(path, params=params)


def expected_ids() -> set[str]:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    days = [SINCE + timedelta(days=n) for n in range((yesterday - SINCE).days + 1)]
    weeks = {f"weekly-{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}" for d in days if d.weekday() == 6}
    return {f"daily-{d.isoformat()}" for d in days} | weeks


async def all_reports(stack: RunningStack) -> list[dict[str, Any]]:
    response = await get(stack, "/reports", limit=500)
    return list(response.json()["items"]) if response.status_code == 200 else []


async def test_the_schedule_produces_each_period_once_and_mails_those_with_data(
    scheduled: RunningStack, inbox: tuple[Inbox, int]
) -> None:
    found = await eventually(
        lambda: all_reports(scheduled),
        lambda items: (
            {r["report_id"] for r in items} == expected_ids() and all(r["mailed"] for r in items if r["has_data"])
        ),
        within=120,
        what="every due digest stored, and those with data mailed",
    )
    with_data = {r["report_id"] for r in found if r["has_data"]}
    # Events from 11-02 to 11-09: eight days, and the weeks 45 (11-02..08) and 46 (11-09..15).
    assert with_data == {f"daily-2026-11-{d:02d}" for d in range(2, 10)} | {"weekly-2026-W45", "weekly-2026-W46"}
    assert not any(r["mailed"] for r in found if not r["has_data"])
    # Two replicas ran the schedule; each period was mailed by one of them only.
    subjects = sorted(str(m["Subject"]) for m in inbox[0].messages)
    assert len(subjects) == len(with_data) == 10
    assert "Weekly digest 2026-11-02 to 2026-11-08" in subjects


async def test_the_weekly_digest_has_the_expected_figures_in_every_format(scheduled: RunningStack) -> None:
    await eventually(
        lambda: get(scheduled, "/reports/weekly-2026-W45"), lambda r: r.status_code == 200, what="the weekly digest"
    )
    content = (await get(scheduled, "/reports/weekly-2026-W45")).json()
    figures = {row["kpi"]: row for row in content["headlines"]}
    # Week 45 holds the whole scenario but R7's receipt (11-09): see tests/reporting_scenario.py.
    assert figures["orders placed"] | {"family": None} == {
        "family": None, "kpi": "orders placed", "value": 7, "previous": 0, "change": 7,
    }  # fmt: skip
    assert figures["on-time ship rate"]["value"] == 0.6667 and figures["on-time ship rate"]["change"] is None
    assert figures["perfect order rate"]["value"] == 0.2857
    assert (figures["returned units"]["value"], figures["return rate"]["value"]) == (2, 0.25)
    exceptions = content["exceptions"]
    assert [r["return_id"] for r in exceptions["returns_awaiting_refund"]] == ["R7"]
    assert [c["case_id"] for c in exceptions["cases_past_target"]] == ["K2"]
    assert {"sku": "B", "warehouse": "LIS-1", "available": 0} in exceptions["stock_outs"]
    html = (await get(scheduled, "/reports/weekly-2026-W45", format="html")).text
    assert "on-time ship rate</td><td>0.6667" in html and "<svg" in html
    csv_text = (await get(scheduled, "/reports/weekly-2026-W45", format="csv")).text
    assert "kpi,fulfillment,on-time ship rate,0.6667,," in csv_text.replace("\r\n", "\n")
    pdf = await get(scheduled, "/reports/weekly-2026-W45", format="pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Weekly digest 2026-11-02 to 2026-11-08" in text
    assert "on-time ship rate" in text and "0.6667" in text


async def test_a_digest_on_demand_is_stored_beside_the_scheduled_one(scheduled: RunningStack) -> None:
    async with httpx.AsyncClient(base_url=scheduled.url("reporting"), timeout=30, headers=bearer("manager")) as c:
        made = await c.post("/reports", json={"kind": "daily", "day": "2026-11-08"})
        assert made.status_code == 201, made.text
        assert made.json()["report_id"].startswith("daily-2026-11-08-on-demand-")
        refused = await c.post("/reports", json={"kind": "monthly", "day": "2026-11-08"})
        assert refused.status_code == 422 and "kind" in refused.text
    fetched = await get(scheduled, f"/reports/{made.json()['report_id']}")
    figures = {row["kpi"]: row["value"] for row in fetched.json()["headlines"]}
    assert (figures["returned units"], figures["refunded amount"]) == (2, 15.0)  # R5: received and refunded 11-08


async def test_the_cli_lists_shows_and_downloads_digests(scheduled: RunningStack, tmp_path: Path) -> None:
    await eventually(
        lambda: get(scheduled, "/reports/weekly-2026-W45"), lambda r: r.status_code == 200, what="the weekly digest"
    )
    env = {"REPORTING_URL": scheduled.url("reporting"), "COLUMNS": "200"}
    listed = CliRunner().invoke(cli, ["report", "list", "--kind", "weekly"], env=env)
    assert listed.exit_code == 0 and "weekly-2026-W45" in listed.output
    shown = CliRunner().invoke(cli, ["report", "show", "weekly-2026-W45"], env=env)
    assert shown.exit_code == 0 and "perfect order rate" in shown.output and "returns_awaiting_refund" in shown.output
    target = tmp_path / "w45.pdf"
    fetched = CliRunner().invoke(cli, ["report", "get", "weekly-2026-W45", "--output", str(target)], env=env)
    assert fetched.exit_code == 0, fetched.output
    assert "Weekly digest" in "".join(page.extract_text() for page in PdfReader(target).pages)
    missing = CliRunner().invoke(cli, ["report", "show", "weekly-1999-W01"], env=env)
    assert missing.exit_code == 1 and "unknown report" in missing.output
