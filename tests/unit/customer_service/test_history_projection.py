"""The order history fold: pure, idempotent, independent of how topics interleave."""

from __future__ import annotations

import copy
import random

from services.customer_service.projections.events import ReceivedEvent
from services.customer_service.projections.history import History, apply, is_known, new_history
from services.customer_service.projections.views import (
    cancellation_refusal,
    history_view,
    lookup_keys,
    return_refusal,
    summary_of,
)
from tests.unit.customer_service import factories as f


def fold(events: list[ReceivedEvent]) -> History:
    history = new_history(f.ORDER_ID)
    for event in events:
        apply(history, event)
    return history


def test_a_delivered_order_shows_status_lines_shipment_and_every_source() -> None:
    view = history_view(fold(f.full_flow()))

    assert view["status"] == "delivered"
    assert view["customer"]["id"] == "C-881"
    assert view["lines"] == [
        {"sku": f.SKU, "quantity": 2, "unit_price": "19.90", "reserved": 2, "backordered": 0,
         "shipped": 2, "delivered": 2, "returned": 0},
    ]  # fmt: skip
    (shipment,) = view["shipments"]
    assert (shipment["status"], shipment["tracking_number"]) == ("delivered", f.TRACKING)
    sources = {entry["source"] for entry in view["timeline"]}
    assert sources == {"storefront", "orders", "inventory", "shipping", "warehouse", "carrier"}


def test_the_timeline_is_ordered_by_time_whatever_the_arrival_order() -> None:
    events = f.full_flow()
    shuffled = events[:]
    random.Random(7).shuffle(shuffled)

    timeline = history_view(fold(shuffled))["timeline"]

    assert [entry["at"] for entry in timeline] == sorted(entry["at"] for entry in timeline)
    assert (timeline[0]["source"], timeline[1]["source"]) == ("storefront", "orders")


def test_a_redelivered_event_changes_nothing() -> None:
    events = f.full_flow()
    history = fold(events)
    snapshot = copy.deepcopy(history)

    assert apply(history, events[3]) is False
    assert history == snapshot


def test_interleaving_topics_differently_gives_the_same_history() -> None:
    events = [*f.full_flow(), f.case_opened()]
    by_topic: dict[str, list[ReceivedEvent]] = {}
    for event in events:
        by_topic.setdefault(event.source, []).append(event)
    # Each topic keeps its own order (one partition per order); topics interleave at random.
    rng = random.Random(3)
    queues = {source: list(queue) for source, queue in by_topic.items()}
    interleaved = []
    while any(queues.values()):
        source = rng.choice([s for s, q in queues.items() if q])
        interleaved.append(queues[source].pop(0))

    assert fold(interleaved) == fold(events)


def test_a_late_carrier_update_lands_at_its_own_time_and_does_not_move_the_status() -> None:
    events = f.full_flow()
    late = f.tracking(700, "in_transit", reported=300, applied=False)

    view = history_view(fold([*events, late]))

    assert view["shipments"][0]["status"] == "delivered"
    carrier = [entry for entry in view["timeline"] if entry["source"] == "carrier"]
    assert [entry["at"] for entry in carrier] == [f.at(300), f.at(600)]


def test_an_order_is_known_once_its_placement_is_seen() -> None:
    early = f.full_flow()[3]  # a reservation overtaking the acceptance (another topic)

    assert not is_known(fold([early]))
    assert is_known(fold([early, f.full_flow()[0]]))


def test_the_summary_and_lookup_keys_lead_back_to_the_order() -> None:
    history = fold(f.full_flow())

    assert lookup_keys(history) == {
        "customer:C-881", "email:ana@example.com", f"sku:{f.SKU}", f"tracking:{f.TRACKING}",
    }  # fmt: skip
    summary = summary_of(history)
    assert (summary["_id"], summary["status"], summary["items"], summary["refunded"]) == (
        f.ORDER_ID, "delivered", 2, "0",
    )  # fmt: skip


def test_cancellation_after_dispatch_is_refused_up_front() -> None:
    shipped = fold(f.full_flow()[:11])
    reserved = fold(f.full_flow()[:6])

    refusal = cancellation_refusal(shipped)
    assert refusal is not None and "dispatched" in refusal and f.SHIPMENT_ID in refusal
    assert cancellation_refusal(reserved) is None


def test_a_return_of_more_than_was_delivered_is_refused_up_front() -> None:
    delivered = fold(f.full_flow())
    shipped = fold(f.full_flow()[:11])

    assert return_refusal(delivered, [{"sku": f.SKU, "quantity": 2}]) is None
    too_many = return_refusal(delivered, [{"sku": f.SKU, "quantity": 3}])
    assert too_many is not None and "2 delivered" in too_many
    assert "0 delivered" in (return_refusal(shipped, [{"sku": f.SKU, "quantity": 1}]) or "")
    assert "no sku" in (return_refusal(delivered, [{"sku": "MUG", "quantity": 1}]) or "")


def test_cases_are_listed_with_their_state() -> None:
    opened = f.case_opened()
    note = f.event("customer_service", "CaseNoteAdded", 701, {"case_id": "CASE-1", "note": "n", "agent_id": "ag-1"})
    resolved = f.event(
        "customer_service", "CaseResolved", 702, {"case_id": "CASE-1", "outcome": "o", "agent_id": "ag-2"}
    )

    view = history_view(fold([*f.full_flow(), opened, note, resolved]))

    assert [(c["case_id"], c["status"], c["notes"]) for c in view["cases"]] == [("CASE-1", "resolved", 1)]
    summaries = [e["summary"] for e in view["timeline"] if e["source"] == "customer_service"]
    assert summaries[0].startswith("Case CASE-1 opened by ag-1") and "resolved by ag-2" in summaries[-1]


def test_a_review_shows_once_on_the_timeline_even_when_the_platform_sends_it_again() -> None:
    review = {"review_id": "RV-1", "order_id": f.ORDER_ID, "rating": 2, "text": "slow"}
    again = f.event("reviews", "ReviewSubmitted", 820, review)  # a re-send: another event id, same review
    view = history_view(fold([*f.full_flow(), f.event("reviews", "ReviewSubmitted", 800, review), again]))

    assert [r["review_id"] for r in view["reviews"]] == ["RV-1"]
    (entry,) = [e for e in view["timeline"] if e["type"] == "ReviewReceived"]
    assert (entry["source"], entry["summary"]) == ("customer_service", "Review RV-1: 2 of 5 stars: slow")
