"""The SupportCase aggregate and the support use cases on in-memory persistence."""

from __future__ import annotations

import pytest

from services.customer_service.adapters.outbound import to_outbound
from services.customer_service.application import SupportApplication, UnknownCase
from services.customer_service.domain.case import AlreadyEscalated, CaseClosed, SupportCase, UnknownCategory
from services.customer_service.domain.targets import DEFAULT_TARGETS
from shared.contracts.customer_service import CancellationRequestedByAgentV1, ReturnRequestedByAgentV1
from shared.messaging.outbound import Outbound


def published(app: SupportApplication) -> list[Outbound]:
    """What the relay would publish from the application's log."""
    events = (app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 100))
    return [message for message in map(to_outbound, events) if message is not None]


@pytest.fixture
def app() -> SupportApplication:
    return SupportApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def test_a_case_takes_notes_then_is_escalated_and_resolved(app: SupportApplication) -> None:
    case = app.open_case("SO-1", "late_delivery", "where is it", "ag-1")
    app.add_note(case["case_id"], "called the carrier", "ag-1")
    app.escalate(case["case_id"], "carrier does not answer", "ag-1")
    resolved = app.resolve(case["case_id"], "parcel found, delivered tomorrow", "ag-2")

    assert resolved["status"] == "resolved"
    assert resolved["notes"] == [{"note": "called the carrier", "agent_id": "ag-1"}]
    assert resolved["escalation"] == {"reason": "carrier does not answer", "agent_id": "ag-1"}
    assert resolved["resolution"] == {"outcome": "parcel found, delivered tomorrow", "agent_id": "ag-2"}


def test_a_resolved_case_takes_no_more_notes(app: SupportApplication) -> None:
    case_id = app.open_case("SO-1", "other", "s", "ag-1")["case_id"]
    app.resolve(case_id, "done", "ag-1")

    with pytest.raises(CaseClosed):
        app.add_note(case_id, "one more thing", "ag-1")
    with pytest.raises(CaseClosed):
        app.resolve(case_id, "again", "ag-1")


def test_a_case_is_escalated_once(app: SupportApplication) -> None:
    case_id = app.open_case("SO-1", "other", "s", "ag-1")["case_id"]
    app.escalate(case_id, "vip", "ag-1")

    with pytest.raises(AlreadyEscalated):
        app.escalate(case_id, "vip", "ag-1")


def test_only_known_categories_are_accepted() -> None:
    with pytest.raises(UnknownCategory):
        SupportCase.open("CASE-1", "SO-1", "angry", "s", "ag-1", "normal", DEFAULT_TARGETS["normal"])


def test_an_unknown_case_is_reported(app: SupportApplication) -> None:
    with pytest.raises(UnknownCase):
        app.add_note("CASE-NOPE", "n", "ag-1")
    assert app.get_case("CASE-NOPE") is None


def test_the_same_idempotency_key_opens_one_case(app: SupportApplication) -> None:
    first = app.open_case("SO-1", "other", "s", "ag-1", idempotency_key="k1")
    second = app.open_case("SO-1", "other", "s", "ag-1", idempotency_key="k1")

    assert first["case_id"] == second["case_id"]
    assert app.open_case("SO-1", "other", "s", "ag-1", idempotency_key="k2")["case_id"] != first["case_id"]


def test_case_events_are_published_keyed_by_order(app: SupportApplication) -> None:
    case_id = app.open_case("SO-1", "damaged_item", "torn", "ag-1")["case_id"]
    app.add_note(case_id, "photo received", "ag-1")

    messages = published(app)

    assert [(m.type, m.key, m.topic.name) for m in messages] == [
        ("CaseOpened", "SO-1", "customer_service.events.v1"),
        ("CaseNoteAdded", "SO-1", "customer_service.events.v1"),
    ]


def test_agent_requests_are_published_for_the_orders_service(app: SupportApplication) -> None:
    app.request_cancellation_for_agent("SO-1", "duplicate", "ag-7")
    app.request_return_for_agent("SO-2", [{"sku": "MUG", "quantity": 1}], "broken", "ag-8", idempotency_key="k")
    app.request_return_for_agent("SO-2", [{"sku": "MUG", "quantity": 1}], "broken", "ag-8", idempotency_key="k")

    messages = published(app)

    assert len(messages) == 2  # the retried return (same key) made no second request
    cancellation, return_ = (m.data for m in messages)
    assert cancellation == CancellationRequestedByAgentV1(order_id="SO-1", reason="duplicate", agent_id="ag-7")
    assert isinstance(return_, ReturnRequestedByAgentV1) and return_.agent_id == "ag-8"
    assert [(line.sku, line.quantity) for line in return_.lines] == [("MUG", 1)]
