"""A refund capped at what was left of the payment says so on the order's timeline."""

from __future__ import annotations

from services.customer_service.projections.history import apply, new_history
from services.customer_service.projections.views import history_view
from tests.unit.customer_service import factories as f


def refund_summaries(capped: str | None) -> list[str]:
    history = new_history(f.ORDER_ID)
    refund = {"return_id": f"{f.ORDER_ID}-R1", "amount": "0.01", "currency": "EUR", "payment_reference": "pi_1"}
    for event in [*f.full_flow(), f.event("orders", "RefundIssued", 900, {**refund, "capped": capped})]:
        apply(history, event)
    return [e["summary"] for e in history_view(history)["timeline"] if e["type"] == "RefundIssued"]


def test_a_capped_refund_shows_why_it_is_less() -> None:
    reason = "39.80 EUR due for the returned units, but only 0.01 EUR of the 0.01 EUR captured is left to refund"

    assert refund_summaries(reason) == [f"Refund of 0.01 EUR issued for {f.ORDER_ID}-R1; capped: {reason}"]


def test_a_full_refund_reads_as_before() -> None:
    assert refund_summaries(None) == [f"Refund of 0.01 EUR issued for {f.ORDER_ID}-R1"]
