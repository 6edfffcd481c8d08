"""The reporting service end to end, as two replicas on the real Kafka and FerretDB: the hand-built scenario
published to the internal topics with known event times gives exactly the expected value of every KPI from either
replica, the expected reorder points and one ReorderPointCrossed per crossing; a rebuild from the topics gives the
same figures as the live read model; a poison event goes to the DLQ with the field named."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner

from cli.main import app as cli
from cli.tokens import bearer
from tests.integration.conftest import Infrastructure
from tests.kafka_probe import envelope, producer, read_all
from tests.reporting_scenario import (
    END,
    EXPECTED_CROSSINGS,
    EXPECTED_CUSTOMERS,
    EXPECTED_FULFILLMENT,
    EXPECTED_INVENTORY,
    EXPECTED_REPLENISHMENT,
    EXPECTED_RETURNS,
    EXPECTED_SUPPORT,
    SETTINGS,
    START,
    events,
)
from tests.stack import RunningStack, eventually

FAMILIES = ("fulfillment", "inventory", "returns", "customers", "support")


@pytest.fixture(scope="module")
def reporting(infrastructure: Infrastructure, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    namespace = f"rp{uuid.uuid4().hex[:8]}"
    env = {**infrastructure.env(), "TOPIC_PREFIX": f"{namespace}.", "DATABASE_PREFIX": f"{namespace}_", **SETTINGS}
    # No schedule here: the digest tests own that.
    env["DIGEST_SCHEDULE"] = "false"
    stack = RunningStack(env, Path(tmp_path_factory.mktemp("reporting-logs")), replicas=2)
    try:
        stack.start("reporting")
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
async def kafka(infrastructure: Infrastructure) -> AsyncIterator[AIOKafkaProducer]:
    async with producer(infrastructure.kafka_bootstrap_servers) as client:
        yield client


# O7's return reaches the warehouse on 11-09: it is published last, after the figures before it were read.
LATE_RETURN = ("O7", "ReturnReceived")
BEFORE_THE_RETURN = "2026-11-09T09:59:59Z"


@dataclass
class Published:
    count: int
    # The returns figures as served just before the late return was published (the live figure at the time).
    before_late_return: dict[str, Any]


@pytest.fixture(scope="module")
async def published(reporting: RunningStack, kafka: AIOKafkaProducer) -> Published:
    prefix = reporting.env["TOPIC_PREFIX"]
    scenario = events()
    late = next(e for e in scenario if (e.key, e.type) == LATE_RETURN)
    for event in scenario:
        if event is not late:
            await kafka.send_and_wait(prefix + event.topic, event.value(), key=event.key.encode())
    url = reporting.url("reporting")
    # Everything else is in: R5's 2 returned units and its refund, the scenario's 8 delivered units.
    before = await eventually(
        lambda: kpis(url, "returns"),
        lambda f: (f["total"]["returned_units"], f["total"]["delivered_units"], f["total"]["refunds"]) == (2, 8, 1),
        what="every event but the late return",
    )
    await kafka.send_and_wait(prefix + late.topic, late.value(), key=late.key.encode())
    return Published(len(scenario), before["total"])


async def kpis(url: str, family: str, **params: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=bearer("manager")) as client:
        response = await client.get(f"/kpis/{family}", params={"from": START, "to": END, **params})
        assert response.status_code == 200, response.text
        return dict(response.json())


def subset(found: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {name: found.get(name) for name in expected}


def urls(stack: RunningStack) -> list[str]:
    return [stack.url("reporting"), *(replica.url for replica in stack.extra["reporting"])]


async def test_every_kpi_of_the_scenario_from_either_replica(reporting: RunningStack, published: Published) -> None:
    for url in urls(reporting):
        fulfillment = await eventually(
            lambda url=url: kpis(url, "fulfillment"),  # type: ignore[misc]
            lambda found: subset(found["total"], EXPECTED_FULFILLMENT) == EXPECTED_FULFILLMENT,
            what="the scenario's fulfillment KPIs",
        )
        assert fulfillment["total"]["cycle_time"]["placed_to_delivered"]["p50_h"] == 48.0
        returns = await eventually(
            lambda url=url: kpis(url, "returns"),  # type: ignore[misc]
            lambda found: subset(found["total"], EXPECTED_RETURNS) == EXPECTED_RETURNS,
            what="the scenario's returns KPIs",
        )
        assert returns["total"]["refund_time"]["p50_h"] == 2.0
        customers = await eventually(
            lambda url=url: kpis(url, "customers"),  # type: ignore[misc]
            lambda found: subset(found["total"], EXPECTED_CUSTOMERS) == EXPECTED_CUSTOMERS,
            what="the scenario's customer KPIs",
        )
        assert customers["total"]["top_customers"][0] == {"customer_id": "C1", "clv": 30.0, "orders": 2}
        await eventually(
            lambda url=url: kpis(url, "support"),  # type: ignore[misc]
            lambda found: subset(found["total"], EXPECTED_SUPPORT) == EXPECTED_SUPPORT,
            what="the scenario's support KPIs",
        )

        def inventory_matches(found: dict[str, Any]) -> bool:
            rows = {(r["sku"], r["warehouse"]): r for r in found["total"]["items"]}
            return {k: subset(rows.get(k, {}), v) for k, v in EXPECTED_INVENTORY.items()} == EXPECTED_INVENTORY

        await eventually(
            lambda url=url: kpis(url, "inventory"),  # type: ignore[misc]
            inventory_matches,
            what="the scenario's inventory KPIs",
        )


async def test_the_drill_down_names_the_orders(reporting: RunningStack, published: Published) -> None:
    url = reporting.url("reporting")
    found = await eventually(
        lambda: kpis(url, "fulfillment", explain="true", by="day", limit=1000),
        lambda f: subset(f["total"], EXPECTED_FULFILLMENT) == EXPECTED_FULFILLMENT,
        what="the fulfillment KPIs of the scenario",
    )
    assert {row["order_id"] for row in found["orders"]} == {f"O{n}" for n in range(1, 8)}
    assert found["rows_total"] == len(found["orders"]) and "next_cursor" not in found
    orders_rows = [row for row in found["orders"] if row["contributes"].get("orders")]
    assert sum(period["orders"] for period in found["periods"]) == len(orders_rows) == 7


async def test_drill_down_pages_follow_the_cursor(reporting: RunningStack, published: Published) -> None:
    url = reporting.url("reporting")
    whole = await eventually(
        lambda: kpis(url, "returns", explain="true", limit=1000),
        lambda f: subset(f["total"], EXPECTED_RETURNS) == EXPECTED_RETURNS,
        what="the returns KPIs of the scenario",
    )
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await kpis(url, "returns", explain="true", limit=2, **({"cursor": cursor} if cursor else {}))
        assert len(page["orders"]) <= 2 and page["rows_total"] == whole["rows_total"]
        rows += page["orders"]
        pages += 1
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    assert rows == whole["orders"] and pages == -(-len(rows) // 2)
    returned = sum(v for r in rows for k, v in r["contributes"].items() if k.startswith("returned_condition|"))
    assert returned == EXPECTED_RETURNS["returned_units"]


async def test_figures_as_of_before_a_late_return_are_those_served_before_it(
    reporting: RunningStack, published: Published
) -> None:
    for url in urls(reporting):
        now = await eventually(
            lambda url=url: kpis(url, "returns"),  # type: ignore[misc]
            lambda found: subset(found["total"], EXPECTED_RETURNS) == EXPECTED_RETURNS,
            what="the late return counted",
        )
        assert now["total"] != published.before_late_return
        before = await kpis(url, "returns", as_of=BEFORE_THE_RETURN)
        assert before["total"] == published.before_late_return
        assert before["as_of"] == "2026-11-09T09:59:59.000000Z"
        # The same instant written with an offset; and as of the return's own time it counts.
        assert (await kpis(url, "returns", as_of="2026-11-09T10:59:59+01:00"))["total"] == before["total"]
        assert (await kpis(url, "returns", as_of="2026-11-09T10:00:00Z"))["total"] == now["total"]
        drill = await kpis(url, "returns", explain="true", limit=1000, as_of=BEFORE_THE_RETURN)
        assert "O7" not in {row["order_id"] for row in drill["orders"] if row["day"] == "2026-11-09"}


async def test_reorder_points_and_one_event_per_crossing(
    reporting: RunningStack, published: Published, infrastructure: Infrastructure
) -> None:
    async def replenishment() -> Any:
        async with httpx.AsyncClient(base_url=reporting.url("reporting"), headers=bearer("manager")) as client:
            return (await client.get("/replenishment", params={"as_of": END})).json()

    expected = [{k: item[k] for k in item} for item in EXPECTED_REPLENISHMENT]
    await eventually(
        replenishment,
        lambda r: [{k: i[k] for k in expected[0]} for i in r["items"]] == expected,
        what="the scenario's reorder points",
    )
    topic = reporting.env["TOPIC_PREFIX"] + "reporting.events.v1"
    records = await read_all(infrastructure.kafka_bootstrap_servers, topic, expect=sum(EXPECTED_CROSSINGS.values()))
    crossings = {json.loads(r.value or b"")["event_id"]: json.loads(r.value or b"") for r in records}
    assert Counter((c["data"]["sku"], c["data"]["warehouse"]) for c in crossings.values()) == EXPECTED_CROSSINGS
    assert {r.key for r in records} <= {b"A", b"B"}


async def test_a_rebuild_from_the_topics_equals_the_live_read_model(
    reporting: RunningStack, published: Published
) -> None:
    url = reporting.url("reporting")
    await eventually(
        lambda: kpis(url, "fulfillment"),
        lambda found: subset(found["total"], EXPECTED_FULFILLMENT) == EXPECTED_FULFILLMENT,
        what="the live model caught up",
    )
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=bearer("admin")) as client:
        assert (await client.post("/rebuild", headers=bearer("manager"))).status_code == 403
        started = await client.post("/rebuild")
        assert started.status_code == 202, started.text
        rebuild_id = started.json()["rebuild_id"]

        async def status() -> Any:
            return (await client.get(f"/rebuild/{rebuild_id}")).json()

        done = await eventually(status, lambda s: s["status"] in ("done", "failed"), what="the rebuild")
    assert done["status"] == "done", done
    assert done["records"] >= published.count
    for family in FAMILIES:
        live = await kpis(url, family, by="day")
        rebuilt = await kpis(url, family, by="day", generation=done["generation"])
        assert rebuilt["generation"] != live["generation"]
        assert (rebuilt["total"], rebuilt["periods"]) == (live["total"], live["periods"]), family
        for as_of in (BEFORE_THE_RETURN, "2026-11-04T12:00:00+01:00"):
            live_then = await kpis(url, family, by="day", as_of=as_of)
            rebuilt_then = await kpis(url, family, by="day", as_of=as_of, generation=done["generation"])
            assert (rebuilt_then["total"], rebuilt_then["periods"]) == (live_then["total"], live_then["periods"])
    assert (await kpis(url, "returns", as_of=BEFORE_THE_RETURN, generation=done["generation"]))["total"] == (
        published.before_late_return
    )


async def test_a_poison_event_goes_to_the_dlq_naming_the_field(
    reporting: RunningStack, kafka: AIOKafkaProducer, infrastructure: Infrastructure, published: Published
) -> None:
    prefix = reporting.env["TOPIC_PREFIX"]
    bad = envelope("OrderAccepted", {"order_id": "BAD-1", "currency": "EUR"}, occurred_at="2026-11-03T10:00:00Z")
    await kafka.send_and_wait(prefix + "orders.events.v1", bad, key=b"BAD-1")
    (dead,) = await read_all(infrastructure.kafka_bootstrap_servers, prefix + "orders.events.v1.dlq", expect=1)
    assert dead.value == bad
    reason = dict(dead.headers)["error"].decode()
    assert "customer" in reason, reason
    # The partition moved on: the scenario is still all there is.
    found = await kpis(reporting.url("reporting"), "fulfillment")
    assert found["total"]["orders"] == EXPECTED_FULFILLMENT["orders"]


async def test_bad_query_parameters_are_refused_naming_the_field(reporting: RunningStack) -> None:
    async with httpx.AsyncClient(base_url=reporting.url("reporting"), headers=bearer("manager")) as client:
        reversed_range = await client.get("/kpis/fulfillment", params={"from": END, "to": START})
        assert reversed_range.status_code == 400 and "from" in reversed_range.text
        not_a_date = await client.get("/kpis/fulfillment", params={"from": "yesterday"})
        assert not_a_date.status_code == 422 and "from" in not_a_date.text
        unknown = await client.get("/kpis/happiness")
        assert unknown.status_code == 422
        for bad in ("yesterday", "2026-11-05", "2026-11-05T10:00:00", "0001-01-01T00:30:00+01:00", "2026-13-01T00:00Z"):
            refused = await client.get("/kpis/returns", params={"as_of": bad})
            assert refused.status_code == 422 and "as_of" in refused.text, (bad, refused.text)
        ancient = await client.get("/kpis/returns", params={"as_of": "0999-12-31T23:00:00-02:00", "from": "0999-12-01"})
        assert ancient.status_code == 200, ancient.text
        assert ancient.json()["as_of"] == "1000-01-01T01:00:00.000000Z" and ancient.json()["to"] == "1000-01-01"
        assert ancient.json()["total"]["returned_units"] == 0
        early = await client.get("/kpis/returns", params={"as_of": "0500-06-01T00:00:00Z", "from": "0500-05-01"})
        assert early.status_code == 200 and early.json()["as_of"] == "0500-06-01T00:00:00.000000Z", early.text
        anonymous = await httpx.AsyncClient(base_url=reporting.url("reporting")).get("/kpis/fulfillment")
        assert anonymous.status_code == 401


async def test_the_cli_prints_the_kpis_and_what_to_order_as_tables(
    reporting: RunningStack, published: Published
) -> None:
    url = reporting.url("reporting")
    await eventually(
        lambda: kpis(url, "fulfillment"),
        lambda found: subset(found["total"], EXPECTED_FULFILLMENT) == EXPECTED_FULFILLMENT,
        what="the live model caught up",
    )
    env = {"REPORTING_URL": url, "COLUMNS": "220"}
    shown = CliRunner().invoke(
        cli, ["kpi", "show", "fulfillment", "--from", START, "--to", END, "--by", "week"], env=env
    )
    assert shown.exit_code == 0, shown.output
    assert "on_time_ship_rate" in shown.output and "0.6667" in shown.output and "2026-W45" in shown.output
    summary = CliRunner().invoke(cli, ["kpi", "summary", "--from", START, "--to", END], env=env)
    assert summary.exit_code == 0 and "perfect_order_rate" in summary.output and "LIS-1" in summary.output
    ordered = CliRunner().invoke(cli, ["replenish", "--as-of", END], env=env)
    assert ordered.exit_code == 0, ordered.output
    lines = [line for line in ordered.output.splitlines() if " B " in f" {line} "]
    assert [("LIS-1" in line, "MAD-1" in line) for line in lines] == [(True, False), (False, True)]  # by days of supply
    bad = CliRunner().invoke(cli, ["kpi", "show", "fulfillment", "--from", "last week"], env=env)
    assert bad.exit_code != 0 and "--from" in bad.output
    then = CliRunner().invoke(
        cli, ["kpi", "show", "returns", "--from", START, "--to", END, "--as-of", BEFORE_THE_RETURN], env=env
    )
    assert then.exit_code == 0, then.output
    assert "as of 2026-11-09T09:59:59.000000Z" in then.output
    assert re.search(rf"returned_units\s+│\s+{published.before_late_return['returned_units']}\s", then.output)
    naive = CliRunner().invoke(cli, ["kpi", "summary", "--as-of", "2026-11-05T10:00:00"], env=env)
    assert naive.exit_code != 0 and "--as-of" in naive.output
