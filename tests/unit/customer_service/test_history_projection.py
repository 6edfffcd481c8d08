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


def test_a_pending_cancellation_shows_until_shipping_answers_and_the_request_is_listed_once() -> None:
    cancelled = {"order_id": f.ORDER_ID, "reason": "too_slow", "requested_by": "storefront", "refund_amount": "39.80",
                 "currency": "EUR", "cancellation_id": f"{f.ORDER_ID}-C1"}  # fmt: skip
    confirmed = {"order_id": f.ORDER_ID, "cancellation_id": f"{f.ORDER_ID}-C1", "shipment_ids": ["S-1"]}
    history = fold([
        f.accepted(),
        f.event("orders", "OrderCancellationPending", 10, {k: cancelled[k] for k in
                ("order_id", "cancellation_id", "reason", "requested_by")}),
    ])  # fmt: skip
    assert history_view(history)["cancellation_pending"]["cancellation_id"] == f"{f.ORDER_ID}-C1"
    assert cancellation_refusal(history) == f"order {f.ORDER_ID} has a cancellation pending: shipping is deciding it"

    apply(history, f.event("shipping", "OrderShipmentsCancelled", 11, confirmed))
    apply(history, f.event("orders", "OrderCancelled", 12, cancelled))

    view = history_view(history)
    assert view["cancellation_pending"] is None and view["cancellation"]["refund_amount"] == "39.80"
    types = [entry["type"] for entry in view["timeline"]]
    assert types.count("OrderCancellationRequested") == 1
    assert types[-4:] == [
        "OrderCancellationRequested", "OrderCancellationPending", "OrderShipmentsCancelled", "OrderCancelled",
    ]  # fmt: skip


def test_a_cancellation_refused_by_shipping_clears_the_pending_one() -> None:
    pending = {"order_id": f.ORDER_ID, "cancellation_id": f"{f.ORDER_ID}-C1", "reason": "too_slow",
               "requested_by": "agent:ana"}  # fmt: skip
    refused = {**pending, "refusal": "already dispatched; request a return instead"}
    history = fold([
        f.accepted(),
        f.event("orders", "OrderCancellationPending", 10, pending),
        f.event("shipping", "OrderShipmentsCancellationRefused", 11, {"order_id": f.ORDER_ID,
                "cancellation_id": f"{f.ORDER_ID}-C1", "refusal": "already dispatched", "dispatched": ["S-1"]}),
        f.event("orders", "OrderCancellationRefused", 12, refused),
    ])  # fmt: skip

    view = history_view(history)
    assert view["cancellation_pending"] is None and view["cancellation"] is None
    assert [r["refusal"] for r in view["cancellation_refusals"]] == ["already dispatched; request a return instead"]
    summaries = [entry["summary"] for entry in view["timeline"]]
    assert "Shipping refused the cancellation: S-1 already dispatched" in summaries


def test_a_history_folded_before_pending_cancellations_existed_still_folds_an_outcome() -> None:
    history = fold([f.accepted()])
    del history["cancellation_pending"]
    cancelled = {"order_id": f.ORDER_ID, "reason": "x", "requested_by": "storefront", "refund_amount": "0"}

    apply(history, f.event("orders", "OrderCancelled", 12, cancelled))

    assert history_view(history)["cancellation_pending"] is None
    types = [e["type"] for e in history_view(history)["timeline"]]
    assert types[-2:] == ["OrderCancellationRequested", "OrderCancelled"]
