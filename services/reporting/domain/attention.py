"""What about an order needs someone's attention now: open shipments (late or in exception), returns received but
not refunded, open support cases. Kept per order beside its fact; the digest judges lateness at its own time."""

from __future__ import annotations

from typing import Any

from services.reporting.domain.contributions import live_shipments
from services.reporting.domain.facts import Fact
from services.reporting.domain.rules import ShipByRule


def attention(fact: Fact, rule: ShipByRule) -> dict[str, Any] | None:
    placed = fact["placed"]
    open_shipments = []
    if placed is not None and fact["cancelled"] is None:
        ship_by = rule.ship_by(placed["at"], placed["method"]).isoformat()
        for shipment_id, s in fact["shipments"].items():
            if s["cancelled_at"] or s["delivered_at"] or s["returned_at"]:
                continue
            if s not in live_shipments(fact):
                continue
            open_shipments.append(
                {
                    "shipment_id": shipment_id,
                    "warehouse": s["warehouse"],
                    "carrier": s["carrier"],
                    "dispatched_at": s["dispatched_at"],
                    "ship_by": ship_by,
                    "promised": placed["promised"],
                    "exception_at": s["exception_at"],
                }
            )
    awaiting = [
        {"return_id": return_id, "received_at": r["received_at"]}
        for return_id, r in fact["returns"].items()
        if r["received_at"] and not r["refunds"]
    ]
    cases = [
        {"case_id": case_id, "category": c["category"], "opened_at": c["opened_at"]}
        for case_id, c in fact["cases"].items()
        if c["opened_at"] and not c["resolved_at"]
    ]
    if not (open_shipments or awaiting or cases):
        return None
    return {"shipments": open_shipments, "awaiting_refund": awaiting, "open_cases": cases}
