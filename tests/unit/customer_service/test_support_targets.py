"""Support targets: the clock rules (paused while waiting on the customer), priorities, breaches recorded once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.customer_service.adapters.outbound import to_outbound
from services.customer_service.application import Review, SupportApplication
from services.customer_service.domain.case import NotWaiting, SupportCase
from services.customer_service.domain.targets import (
    FIRST_RESPONSE,
    RESOLUTION,
    Clock,
    Targets,
    complaint_priority,
    default_priority,
)

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def case_opened(first_response_h: float = 4, resolution_h: float = 24) -> SupportCase:
    targets = Targets(timedelta(hours=first_response_h), timedelta(hours=resolution_h))
    return SupportCase.open("CASE-1", "SO-1", "damaged_item", "torn", "ag-1", "high", targets, at=T0)


def test_a_running_clock_is_breached_when_its_running_time_reaches_the_target() -> None:
    clock = Clock(RESOLUTION, 2 * HOUR, started=T0, stopped=None)
    assert clock.breached_at(at(1.9)) is None
    assert clock.breached_at(at(3)) == at(2)
    assert clock.state(at(1), near=0.25) == "running"
    assert clock.state(at(1.6), near=0.25) == "due_soon"
    assert clock.state(at(3), near=0.25) == "breached"


def test_time_waiting_on_the_customer_does_not_count() -> None:
    case = case_opened(resolution_h=2)
    case.wait_on_customer("sent us a photo?", "ag-1", at=at(0.5))
    assert case.clock(RESOLUTION).state(at(10), near=0.25) == "paused"
    assert case.clock(RESOLUTION).due_at(at(10)) is None
    case.customer_replied("photo attached", "ag-1", at=at(10))

    clock = case.clock(RESOLUTION)
    assert clock.elapsed(at(10.5)) == HOUR
    assert clock.due_at(at(10.5)) == at(11.5)
    assert clock.breached_at(at(12)) == at(11.5)


def test_a_case_resolved_while_waiting_stops_its_clock_where_it_was() -> None:
    case = case_opened(resolution_h=2)
    case.wait_on_customer("address?", "ag-1", at=at(1))
    case.resolve("customer never answered", "ag-1", at=at(30))
    clock = case.clock(RESOLUTION)
    assert clock.elapsed(at(40)) == HOUR
    assert clock.state(at(40), near=0.25) == "met"


def test_the_first_note_or_escalation_stops_the_first_response_clock() -> None:
    noted = case_opened(first_response_h=1)
    noted.add_note("looking into it", "ag-2", at=at(0.5))
    noted.add_note("carrier called", "ag-2", at=at(3))
    assert noted.clock(FIRST_RESPONSE).state(at(5), near=0.25) == "met"

    escalated = case_opened(first_response_h=1)
    escalated.escalate("vip", "ag-2", at=at(2))
    assert escalated.clock(FIRST_RESPONSE).breached_at(at(5)) == at(1)


def test_a_reply_is_only_recorded_on_a_case_waiting_for_one() -> None:
    with pytest.raises(NotWaiting):
        case_opened().customer_replied("hello", "ag-1", at=at(1))


def test_each_breach_is_recorded_once_and_published() -> None:
    app = SupportApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
        targets={"high": Targets(timedelta(seconds=1), timedelta(seconds=5))},
    )
    case_id = app.open_case("SO-1", "damaged_item", "torn", "ag-1")["case_id"]
    later = datetime.now(UTC) + timedelta(seconds=2)
    assert app.record_breaches(case_id, later) == ["first_response"]
    assert app.record_breaches(case_id, later) == []
    assert app.record_breaches(case_id, later + timedelta(seconds=10)) == ["resolution"]

    events = (app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(1, 100))
    breaches = [m for m in map(to_outbound, events) if m is not None and m.type == "CaseTargetBreached"]
    assert [(m.data.target, m.data.priority, m.key) for m in breaches] == [  # type: ignore[attr-defined]
        ("first_response", "high", "SO-1"),
        ("resolution", "high", "SO-1"),
    ]


def test_priorities_come_from_the_category_or_from_the_rating_and_the_orders_value() -> None:
    assert (default_priority("damaged_item"), default_priority("other")) == ("high", "low")
    assert complaint_priority(1, 20.0, high_value=100) == "high"
    assert complaint_priority(1, 250.0, high_value=100) == "urgent"
    assert complaint_priority(2, 99.99, high_value=100) == "normal"
    assert complaint_priority(2, 100.0, high_value=100) == "high"
    assert complaint_priority(2, None, high_value=100) == "normal"
    assert complaint_priority(3, 1000.0, high_value=100) is None


def test_the_same_review_twice_opens_one_complaint() -> None:
    app = SupportApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    review = Review("RV-1", "SO-1", 1, "never arrived", 150.0)
    first, again = app.open_complaint(review), app.open_complaint(review)
    assert first is not None and first == again
    case = app.get_case(first)
    assert case is not None
    assert (case["category"], case["priority"], case["order_id"]) == ("complaint", "urgent", "SO-1")
    assert app.open_complaint(Review("RV-2", "SO-1", 4, "fine", 150.0)) is None
    assert app.recorder.max_notification_id() == 1
