"""The order history read model: one document per order holding everything support asks about it.

`apply` is pure (a dict in, the same dict changed): the live consumer, the rebuild and point-in-time replay all
run it, so they cannot disagree. Each part of the document is written by the events of one topic only
(placement and returns: orders; reservations: inventory; shipments: shipping; cases: customer_service). Events
of one topic and order arrive in order (one partition), while topics interleave differently live and in a
replay; because no part mixes topics, the result does not depend on that interleaving, which is what lets a
rebuild equal the live model. Lists, not maps keyed by sku or shipment id: those may contain '.', which
FerretDB does not allow in keys.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from services.customer_service.projections.events import ReceivedEvent
from services.customer_service.projections.timeline import entries_for, sort_key

History = dict[str, Any]
# A handler returning False says the event repeats one already folded (under another event id): no timeline entry.
Apply = Callable[[History, dict[str, Any], ReceivedEvent], bool | None]


def new_history(order_id: str) -> History:
    return {
        "_id": order_id,
        "order_id": order_id,
        "version": 0,
        "placed": None,
        "status": None,
        "reservations": [],
        "backorders": [],
        "released": False,
        "shipments": [],
        "cancellation": None,
        "cancellation_refusals": [],
        # A cancellation orders has put to shipping and not decided yet (histories folded before it lack the key).
        "cancellation_pending": None,
        "returns": [],
        "refunds": [],
        "cases": [],
        "agent_requests": [],
        "reviews": [],
        "timeline": [],
        "applied": [],
        "seqs": [],
        "updated_at": None,
    }


def apply(history: History, event: ReceivedEvent) -> bool:
    """Fold one event into the history; False (and nothing changed) if this event id was applied before."""
    applied: list[str] = history["applied"]
    position = bisect.bisect_left(applied, event.event_id)
    if position < len(applied) and applied[position] == event.event_id:
        return False
    # Sorted, so the bookkeeping is the same whatever order the topics interleaved in.
    applied.insert(position, event.event_id)
    bisect.insort(history["seqs"], event.seq)
    handler = HANDLERS.get((event.source, event.type))
    repeated = handler is not None and handler(history, event.data, event) is False
    for entry in [] if repeated else entries_for(event):
        timeline: list[dict[str, Any]] = history["timeline"]
        timeline.insert(bisect.bisect_right([sort_key(e) for e in timeline], sort_key(entry)), entry)
    if history["updated_at"] is None or event.occurred_at > history["updated_at"]:
        history["updated_at"] = event.occurred_at
    history["version"] = len(applied)
    return True


def opens(event: ReceivedEvent) -> bool:
    """Orders' word on a placement (accepted or rejected): the first event of an order, nearly always."""
    return (event.source, event.type) in OPENING


def is_known(history: History | None) -> bool:
    """An order exists for support once its placement (accepted or rejected) has been seen."""
    return history is not None and history["placed"] is not None


# Orders.


def _accepted(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    h["placed"] = {
        "at": e.occurred_at,
        "customer": d["customer"],
        "shipping_address": d["shipping_address"],
        "lines": [{"sku": x["sku"], "quantity": x["quantity"], "unit_price": x["unit_price"]} for x in d["lines"]],
        "currency": d["currency"],
        "total": d["total"],
        "shipping_method": d["shipping_method"],
        "promised_delivery_by": d["promised_delivery_by"],
        "rejection": None,
    }
    h["status"] = h["status"] or "received"


def _rejected(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    # The rejection event carries no customer or lines: the order is known by id and reason only.
    h["placed"] = {"at": e.occurred_at, "customer": None, "lines": [], "rejection": d["reason"]}
    h["status"] = "rejected"


def _status_changed(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    h["status"] = d["status"]


def _cancellation_pending(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    h["cancellation_pending"] = {
        "at": e.occurred_at,
        "cancellation_id": d["cancellation_id"],
        "reason": d["reason"],
        "requested_by": d["requested_by"],
    }


def _decided(h: History, d: dict[str, Any]) -> None:
    """The pending cancellation `d` answers is no longer pending (all three are orders' events, in order)."""
    pending = h.get("cancellation_pending")
    if pending is not None and pending["cancellation_id"] == d.get("cancellation_id"):
        h["cancellation_pending"] = None


def _cancelled(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    _decided(h, d)
    h["cancellation"] = {
        "at": e.occurred_at,
        "reason": d["reason"],
        "requested_by": d["requested_by"],
        "refund_amount": d["refund_amount"],
        "currency": d.get("currency"),
    }


def _cancellation_refused(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    _decided(h, d)
    h["cancellation_refusals"].append(
        {"at": e.occurred_at, "reason": d["reason"], "refusal": d["refusal"], "requested_by": d["requested_by"]}
    )


def _return_decided(status: str) -> Apply:
    def decide(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
        h["returns"].append(
            {
                "return_id": d["return_id"],
                "status": status,
                "requested_at": e.occurred_at,
                "lines": d["lines"],
                "reason": d["reason"],
                "requested_by": d["requested_by"],
                "refusal": d.get("refusal"),
                "resellable": [],
                "damaged": [],
                "refund_amount": None,
            }
        )

    return decide


def _return(h: History, return_id: str) -> dict[str, Any]:
    for found in h["returns"]:
        if found["return_id"] == return_id:
            return found  # type: ignore[no-any-return]
    # Not seen approved (e.g. an event lost before this service existed): keep what we know.
    created: dict[str, Any] = {
        "return_id": return_id,
        "status": "approved",
        "lines": [],
        "resellable": [],
        "damaged": [],
    }
    h["returns"].append(created)
    return created


def _update_return(h: History, return_id: str, **changes: Any) -> None:
    _return(h, return_id).update(changes)


def _return_received(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    _update_return(h, d["return_id"], status="received", resellable=d["resellable"], damaged=d["damaged"])


def _refund_issued(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    _update_return(h, d["return_id"], status="refunded", refund_amount=d["amount"])
    h["refunds"].append(
        {"return_id": d["return_id"], "amount": d["amount"], "currency": d["currency"], "at": e.occurred_at}
    )


# Inventory.


def _reserved(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    h["reservations"].extend(d["allocations"])


def _backordered(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    h["backorders"].extend(d["lines"])


def _released(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    h["released"] = True


# Shipping.


def _shipment(h: History, d: dict[str, Any]) -> dict[str, Any]:
    for found in h["shipments"]:
        if found["shipment_id"] == d["shipment_id"]:
            return found  # type: ignore[no-any-return]
    created = {
        "shipment_id": d["shipment_id"],
        "warehouse": d.get("warehouse"),
        "lines": d.get("lines", []),
        "status": "requested",
        "carrier": None,
        "tracking_number": None,
        "promised_delivery_by": d.get("promised_delivery_by"),
        "dispatched_at": None,
        "delivered_at": None,
        "late": None,
        "tracking": [],
    }
    h["shipments"].append(created)
    return created


def _update_shipment(h: History, d: dict[str, Any], **changes: Any) -> None:
    _shipment(h, d).update(changes)


def _shipment_step(status: str) -> Apply:
    def step(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
        _update_shipment(h, d, status=status)

    return step


def _dispatched(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    _update_shipment(
        h,
        d,
        status="dispatched",
        lines=d["lines"],
        carrier=d["carrier"],
        tracking_number=d["tracking_number"],
        dispatched_at=e.occurred_at,
    )


def _tracking_updated(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    shipment = _shipment(h, d)
    update = {
        "status": d["status"],
        "location": d["location"],
        "detail": d["detail"],
        "reported_at": d["reported_at"],
        "applied": d["applied"],
    }
    changes: dict[str, Any] = {"tracking": [*shipment["tracking"], update]}
    # Only updates shipping applied move the status (not late or post-delivery ones); delivery has its own event.
    if d["applied"] and shipment["status"] not in ("delivered", "returned_to_sender", "cancelled"):
        changes["status"] = d["status"]
    _update_shipment(h, d, **changes)


def _delivered(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    _update_shipment(h, d, status="delivered", lines=d["lines"], delivered_at=d["delivered_at"], late=d["late"])


def _returned_to_sender(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    _update_shipment(h, d, status="returned_to_sender")


def _shipment_cancelled(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    _update_shipment(h, d, status="cancelled")


# Customer service.


def _case(h: History, case_id: str) -> dict[str, Any] | None:
    return next((c for c in h["cases"] if c["case_id"] == case_id), None)


def _case_opened(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    h["cases"].append(
        {
            "case_id": d["case_id"],
            "category": d["category"],
            "summary": d["summary"],
            "status": "open",
            "opened_by": d["agent_id"],
            "opened_at": e.occurred_at,
            "notes": 0,
            "updated_at": e.occurred_at,
            "priority": d.get("priority", "normal"),
            "review_id": d.get("review_id"),
            "breaches": [],
        }
    )


def _case_breached(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
    case = _case(h, d["case_id"])
    if case is not None:
        case.setdefault("breaches", []).append({"target": d["target"], "at": d["breached_at"]})


# Reviews.


def _review(h: History, d: dict[str, Any], e: ReceivedEvent) -> bool:
    reviews: list[dict[str, Any]] = h.setdefault("reviews", [])
    if any(r["review_id"] == d["review_id"] for r in reviews):
        return False  # the platform sent the same review again
    reviews.append({"review_id": d["review_id"], "rating": d["rating"], "text": d["text"], "at": e.occurred_at})
    return True


def _case_changed(status: str | None) -> Apply:
    def change(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
        case = _case(h, d["case_id"])
        if case is None:
            return  # its opening precedes it on the same partition; only a damaged log could lack it
        case["updated_at"] = e.occurred_at
        if status is None:
            case["notes"] += 1
        else:
            case["status"] = status

    return change


def _agent_request(kind: str) -> Apply:
    def request(h: History, d: dict[str, Any], e: ReceivedEvent) -> None:
        h["agent_requests"].append(
            {
                "kind": kind,
                "at": e.occurred_at,
                "agent_id": d["agent_id"],
                "reason": d["reason"],
                "lines": d.get("lines", []),
            }
        )

    return request


HANDLERS: dict[tuple[str, str], Apply] = {
    ("orders", "OrderAccepted"): _accepted,
    ("orders", "OrderRejected"): _rejected,
    ("orders", "OrderStatusChanged"): _status_changed,
    ("orders", "OrderCancellationPending"): _cancellation_pending,
    ("orders", "OrderCancelled"): _cancelled,
    ("orders", "OrderCancellationRefused"): _cancellation_refused,
    ("orders", "ReturnApproved"): _return_decided("approved"),
    ("orders", "ReturnDeclined"): _return_decided("declined"),
    ("orders", "ReturnReceived"): _return_received,
    ("orders", "RefundIssued"): _refund_issued,
    ("inventory", "StockReserved"): _reserved,
    ("inventory", "StockBackordered"): _backordered,
    ("inventory", "StockReleased"): _released,
    ("shipping", "ShipmentCreated"): _shipment_step("requested"),
    ("shipping", "ShipmentPicked"): _shipment_step("picked"),
    ("shipping", "ShipmentPacked"): _shipment_step("packed"),
    ("shipping", "ShipmentDispatched"): _dispatched,
    ("shipping", "ShipmentTrackingUpdated"): _tracking_updated,
    ("shipping", "ShipmentDelivered"): _delivered,
    ("shipping", "ShipmentReturnedToSender"): _returned_to_sender,
    ("shipping", "ShipmentCancelled"): _shipment_cancelled,
    ("customer_service", "CaseOpened"): _case_opened,
    ("customer_service", "CaseNoteAdded"): _case_changed(None),
    ("customer_service", "CaseEscalated"): _case_changed("escalated"),
    ("customer_service", "CaseResolved"): _case_changed("resolved"),
    ("customer_service", "CaseWaitingOnCustomer"): _case_changed("waiting_on_customer"),
    ("customer_service", "CaseCustomerReplied"): _case_changed("open"),
    ("customer_service", "CaseTargetBreached"): _case_breached,
    ("reviews", "ReviewSubmitted"): _review,
    ("customer_service", "CancellationRequestedByAgent"): _agent_request("cancellation"),
    ("customer_service", "ReturnRequestedByAgent"): _agent_request("return"),
}


def refunded_total(history: History) -> Decimal:
    cancellation = history["cancellation"]
    total = Decimal(cancellation["refund_amount"]) if cancellation else Decimal("0")
    return total + sum((Decimal(r["amount"]) for r in history["refunds"]), Decimal("0"))


# The events that open an order's history; another topic's event can still get there first (StockReserved in an
# earlier batch), and a redelivery finds the history written.
OPENING = frozenset({("orders", "OrderAccepted"), ("orders", "OrderRejected")})
