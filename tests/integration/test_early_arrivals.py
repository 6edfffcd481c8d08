"""Early messages on the real broker and store: a carrier update for a tracking number that is never dispatched
waits, shows in the waiting metric, and once its patience runs out is copied to `carrier.tracking.dlq` as it was
sent (same event id and data) with the reason — it is neither applied to anything nor silently dropped."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import ConsumerRecord
from prometheus_client.parser import text_string_to_metric_families

from tests.actors import Outside, outside_world
from tests.integration.conftest import Infrastructure
from tests.kafka_probe import read_all
from tests.processes import ServiceProcess
from tests.stack import free_port

NAMESPACE = f"early{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def shipping(infrastructure: Infrastructure, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A shipping service of its own (topics, group and database): beside the session's stack it would be a
    standby of the same log, with that log's owner patient for a day."""
    env = {
        **infrastructure.env(),
        "TOPIC_PREFIX": f"{NAMESPACE}.",
        "DATABASE_PREFIX": f"{NAMESPACE}_",
        "EARLY_ARRIVAL_PATIENCE_S": "3",
        "EARLY_ARRIVAL_CHECK_S": "0.5",
    }
    log = Path(tmp_path_factory.mktemp("early")) / "shipping.log"
    service = ServiceProcess("shipping", free_port(), env, log).start()
    try:
        service.wait_ready()
        yield service
    finally:
        service.terminate()


@pytest.fixture
async def carriers(infrastructure: Infrastructure) -> AsyncIterator[Outside]:
    async with outside_world(infrastructure.kafka_bootstrap_servers, f"{NAMESPACE}.") as world:
        yield world


def waiting_metric(service: ServiceProcess) -> float:
    text = httpx.get(f"{service.url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "fulfillment_messages_waiting"
    )


async def test_an_update_for_a_tracking_number_never_dispatched_expires_to_the_dlq(
    shipping: ServiceProcess, carriers: Outside, infrastructure: Infrastructure
) -> None:
    tracking_number = f"NEVER-{uuid.uuid4().hex[:8]}"
    event_id = str(uuid.uuid4())
    await carriers.track(tracking_number, "in_transit", event_id=event_id, location="Porto")

    dlq = f"{NAMESPACE}.carrier.tracking.dlq"
    deadline = time.monotonic() + 60
    copies: list[ConsumerRecord[bytes, bytes]] = []
    while not copies and time.monotonic() < deadline:
        records = await read_all(infrastructure.kafka_bootstrap_servers, dlq, expect=1, within=5)
        copies = [r for r in records if r.key == tracking_number.encode()]

    (copy,) = copies
    sent = json.loads(copy.value or b"{}")
    assert sent["event_id"] == event_id and sent["type"] == "TrackingUpdated"
    assert sent["data"]["tracking_number"] == tracking_number and sent["data"]["location"] == "Porto"
    headers = {key: (value or b"").decode() for key, value in copy.headers or ()}
    assert headers["error-type"] == "expired"
    assert headers["error"].startswith(f"data.tracking_number: tracking:{tracking_number} did not appear within 3s")
    assert headers["original-topic"] == f"{NAMESPACE}.carrier.tracking"
    # Given up, nothing waits any more (the gauge is counted each round of the expiry).
    deadline = time.monotonic() + 20
    while waiting_metric(shipping) != 0 and time.monotonic() < deadline:  # noqa: ASYNC110 - polling another process
        await asyncio.sleep(0.5)
    assert waiting_metric(shipping) == 0
