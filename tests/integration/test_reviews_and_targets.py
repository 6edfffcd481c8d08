"""Reviews and support targets on the real stack: a negative review opens a complaint with the priority its rating
and the order's value give, the same review again opens nothing more, a bad review goes to the DLQ with the
reason, and an urgent case past its (tiny, configured) first-response target produces `CaseTargetBreached`."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.actors import Outside
from tests.factories import new_id, order_placed
from tests.integration.conftest import Infrastructure
from tests.kafka_probe import read_all
from tests.stack import RunningStack, eventually
from tests.support_desk import call, entries, history_shows


async def placed_and_known(outside: Outside, stack: RunningStack, lines: list[tuple[str, int, str]]) -> str:
    order_id = new_id("SO")
    await outside.place(order_placed(order_id, lines))
    await history_shows(stack, order_id, lambda h: h["status"] is not None, "the order known to support")
    return order_id


def complaints(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [case for case in found["cases"] if case["category"] == "complaint"]


async def test_a_one_star_review_of_a_valuable_order_opens_an_urgent_complaint(
    outside: Outside, stack: RunningStack
) -> None:
    order_id = await placed_and_known(outside, stack, [(new_id("SKU"), 2, "60.00")])  # 120.00: valuable
    review_id = await outside.review(order_id, 1, "arrived broken, nobody answers")

    found = await history_shows(stack, order_id, lambda h: bool(complaints(h)), "a complaint case")
    (complaint,) = complaints(found)
    assert (complaint["priority"], complaint["review_id"], complaint["opened_by"]) == (
        "urgent",
        review_id,
        "review-platform",
    )
    (received,) = entries(found, "ReviewReceived")
    assert received["source"] == "customer_service" and "1 of 5 stars" in received["summary"]
    case = (await call(stack, "GET", f"/cases/{complaint['case_id']}")).json()
    assert case["order_id"] == order_id and case["targets"]["first_response"] == 2  # the stack's tiny target


async def test_a_two_star_review_of_a_small_order_opens_a_normal_complaint_and_three_stars_open_none(
    outside: Outside, stack: RunningStack
) -> None:
    order_id = await placed_and_known(outside, stack, [(new_id("SKU"), 1, "9.90")])
    await outside.review(order_id, 3, "ok")
    await outside.review(order_id, 2, "slow")

    found = await history_shows(stack, order_id, lambda h: len(entries(h, "ReviewReceived")) == 2, "both reviews")
    found = await history_shows(stack, order_id, lambda h: bool(complaints(h)), "a complaint case")
    assert [case["priority"] for case in complaints(found)] == ["normal"]


async def test_the_same_review_sent_again_opens_no_second_case(outside: Outside, stack: RunningStack) -> None:
    order_id = await placed_and_known(outside, stack, [(new_id("SKU"), 1, "9.90")])
    review_id = await outside.review(order_id, 1, "never arrived")
    await history_shows(stack, order_id, lambda h: bool(complaints(h)), "the first complaint")

    await outside.review(order_id, 1, "never arrived", review_id=review_id)  # a re-send, under a new event id
    # Same key, same partition: once this later review shows, the re-send before it has been handled.
    await outside.review(order_id, 5, "found it at the neighbour's")
    found = await history_shows(
        stack, order_id, lambda h: any("5 of 5" in e["summary"] for e in entries(h, "ReviewReceived")), "the 5 stars"
    )
    assert len(complaints(found)) == 1
    assert [r["review_id"] for r in found["reviews"]].count(review_id) == 1
    assert len(entries(found, "ReviewReceived")) == 2


async def test_a_review_with_an_impossible_rating_goes_to_the_dlq_with_the_reason(
    outside: Outside, stack: RunningStack, infrastructure: Infrastructure
) -> None:
    order_id = await placed_and_known(outside, stack, [(new_id("SKU"), 1, "9.90")])
    event_id = str(uuid.uuid4())
    await outside.send(
        "reviews.events",
        order_id,
        "ReviewSubmitted",
        {"review_id": new_id("RV"), "order_id": order_id, "rating": 0, "text": "?"},
        event_id,
    )
    topic = stack.env["TOPIC_PREFIX"] + "reviews.events.dlq"

    async def dead_letter() -> list[Any]:
        records = await read_all(infrastructure.kafka_bootstrap_servers, topic, expect=1, within=5)
        return [r for r in records if json.loads(r.value)["event_id"] == event_id]

    (dead,) = await eventually(dead_letter, lambda found: len(found) == 1, what="the bad review in the DLQ")
    headers = {name: value.decode() for name, value in dead.headers}
    assert "data.rating" in headers["error"] and dead.key == order_id.encode()
    found = await call(stack, "GET", f"/orders/{order_id}/history")
    assert found.json()["reviews"] == [] and complaints(found.json()) == []


async def test_an_urgent_case_past_its_first_response_target_produces_its_breach_once(
    outside: Outside, stack: RunningStack, infrastructure: Infrastructure
) -> None:
    order_id = await placed_and_known(outside, stack, [(new_id("SKU"), 1, "9.90")])
    opened = await call(
        stack, "POST", f"/orders/{order_id}/cases", {"category": "other", "summary": "VIP", "priority": "urgent"}
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["case_id"]

    topic = stack.env["TOPIC_PREFIX"] + "customer_service.events.v1"

    async def breaches() -> list[dict[str, Any]]:
        records = await read_all(infrastructure.kafka_bootstrap_servers, topic, expect=1, within=2)
        messages = [json.loads(r.value) for r in records if r.key == order_id.encode()]
        return [m for m in messages if m["type"] == "CaseTargetBreached"]

    (breach,) = await eventually(breaches, lambda found: len(found) >= 1, what=f"{case_id} breached")
    assert (breach["data"]["case_id"], breach["data"]["target"], breach["data"]["priority"]) == (
        case_id,
        "first_response",
        "urgent",
    )
    queue = (await call(stack, "GET", "/cases", state="breached")).json()
    assert case_id in [case["case_id"] for case in queue["cases"]] and queue["counts"]["breached"] >= 1
    found = await history_shows(stack, order_id, lambda h: bool(entries(h, "CaseTargetBreached")), "the breach")
    assert "missed its first response target of 2 s" in entries(found, "CaseTargetBreached")[0]["summary"]
    # Once: the watcher has looked again several times by the time the timeline shows it.
    assert len(await breaches()) == 1
