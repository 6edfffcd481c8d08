"""Timeline entries of one consumed event: who did what to the order, in words a support agent reads aloud.

Internal events also stand for the outside actors that caused them: an accepted order was placed at the
storefront, a picked shipment was scanned in the warehouse, a tracking update came from the carrier. Those get
their own entry with the outside `source`, so the timeline shows every party without consuming external topics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.customer_service.projections.events import ReceivedEvent, iso, parse_iso

Entry = dict[str, Any]
Describe = Callable[[dict[str, Any]], list[tuple[str, str, str]]]  # (source, type, summary)


def _items(lines: list[dict[str, Any]]) -> str:
    return ", ".join(f"{line['quantity']} x {line['sku']}" for line in lines) or "nothing"


def _units(lines: list[dict[str, Any]]) -> int:
    return sum(int(line["quantity"]) for line in lines)


def _by(requested_by: str) -> str:
    return f" (requested by {requested_by})"


def _placed(d: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [("storefront", "OrderPlaced", f"Order placed: {_units(d['lines'])} items, {d['total']} {d['currency']}")]


def _from_storefront(requested_by: str, type_: str, summary: str) -> list[tuple[str, str, str]]:
    # Agents' requests have their own customer_service entry already (from the request event).
    return [("storefront", type_, summary)] if requested_by == "storefront" else []


def _request_unless_pending(d: dict[str, Any]) -> list[tuple[str, str, str]]:
    if d.get("cancellation_id"):
        return []  # OrderCancellationPending showed the request
    return _from_storefront(d["requested_by"], "OrderCancellationRequested", f"Cancellation requested: {d['reason']}")


DESCRIBE: dict[tuple[str, str], Describe] = {
    ("orders", "OrderAccepted"): lambda d: [
        *_placed(d),
        ("orders", "OrderAccepted", f"Order received: {_units(d['lines'])} items ({_items(d['lines'])})"),
    ],
    ("orders", "OrderRejected"): lambda d: [
        ("storefront", "OrderPlaced", "Order placed"),
        ("orders", "OrderRejected", f"Order rejected: {d['reason']}"),
    ],
    ("orders", "StockReservationRequested"): lambda d: [
        ("orders", "StockReservationRequested", f"Stock requested: {_items(d['lines'])}")
    ],
    ("orders", "ShipmentRequested"): lambda d: [
        ("orders", "ShipmentRequested", f"Shipment {d['shipment_id']} requested from {d['warehouse']}")
    ],
    # A cancellation with shipments open is pending first: that event stands for the request, the outcome (with the
    # same cancellation_id) does not repeat it.
    ("orders", "OrderCancellationPending"): lambda d: [
        *_from_storefront(d["requested_by"], "OrderCancellationRequested", f"Cancellation requested: {d['reason']}"),
        (
            "orders",
            "OrderCancellationPending",
            "Cancellation pending: shipping is asked to stop the shipments" + _by(d["requested_by"]),
        ),
    ],
    ("orders", "OrderCancelled"): lambda d: [
        *_request_unless_pending(d),
        (
            "orders",
            "OrderCancelled",
            f"Order cancelled: {d['reason']}; refund {d['refund_amount']} {d.get('currency') or ''}".rstrip()
            + _by(d["requested_by"]),
        ),
    ],
    ("orders", "OrderCancellationRefused"): lambda d: [
        *_request_unless_pending(d),
        ("orders", "OrderCancellationRefused", f"Cancellation refused: {d['refusal']}" + _by(d["requested_by"])),
    ],
    ("orders", "ReturnApproved"): lambda d: [
        *_from_storefront(d["requested_by"], "ReturnRequested", f"Return requested: {_items(d['lines'])}"),
        (
            "orders",
            "ReturnApproved",
            f"Return {d['return_id']} approved: {_items(d['lines'])}" + _by(d["requested_by"]),
        ),
    ],
    ("orders", "ReturnDeclined"): lambda d: [
        *_from_storefront(d["requested_by"], "ReturnRequested", f"Return requested: {_items(d['lines'])}"),
        ("orders", "ReturnDeclined", f"Return {d['return_id']} declined: {d['refusal']}" + _by(d["requested_by"])),
    ],
    ("orders", "ReturnReceived"): lambda d: [
        ("orders", "ReturnReceived", f"Return {d['return_id']} received: {_items(d['resellable'] + d['damaged'])}")
    ],
    ("orders", "RefundIssued"): lambda d: [
        (
            "orders",
            "RefundIssued",
            f"Refund of {d['amount']} {d['currency']} issued for {d['return_id']}"
            # A refund capped at what was left of the payment says so, for the agent who gets the call.
            + (f"; capped: {d['capped']}" if d.get("capped") else ""),
        )
    ],
    ("orders", "OrderStatusChanged"): lambda d: [
        ("orders", "OrderStatusChanged", f"Status {d['status']}" + (f" (was {d['previous']})" if d["previous"] else ""))
    ],
    ("inventory", "StockReserved"): lambda d: [
        (
            "inventory",
            "StockReserved",
            "Stock reserved: "
            + ", ".join(f"{a['quantity']} x {a['sku']} at {a['warehouse']}" for a in d["allocations"]),
        )
    ],
    ("inventory", "StockBackordered"): lambda d: [
        ("inventory", "StockBackordered", f"Backordered: {_items(d['lines'])}")
    ],
    ("inventory", "StockReleased"): lambda d: [
        ("inventory", "StockReleased", f"Stock released: {_items(d['allocations'] + d['backorders_dropped'])}")
    ],
    ("inventory", "ReturnRestocked"): lambda d: [
        ("warehouse", "ReturnReceived", "Returned goods received: " + _items(_returned(d["lines"]))),
        (
            "inventory",
            "ReturnRestocked",
            "Restocked "
            + ", ".join(f"{line['resellable']} x {line['sku']} at {line['warehouse']}" for line in d["lines"])
            + f"; {sum(int(line['damaged']) for line in d['lines'])} damaged not restocked",
        ),
    ],
    ("shipping", "ShipmentCreated"): lambda d: [
        ("shipping", "ShipmentCreated", f"Shipment {d['shipment_id']} created at {d['warehouse']}")
    ],
    ("shipping", "ShipmentPicked"): lambda d: [("warehouse", "ShipmentPicked", f"Shipment {d['shipment_id']} picked")],
    ("shipping", "ShipmentPacked"): lambda d: [("warehouse", "ShipmentPacked", f"Shipment {d['shipment_id']} packed")],
    ("shipping", "ShipmentDispatched"): lambda d: [
        ("warehouse", "ShipmentDispatched", f"Shipment {d['shipment_id']} handed to {d['carrier']}"),
        ("shipping", "ShipmentDispatched", f"Shipment {d['shipment_id']} dispatched, tracking {d['tracking_number']}"),
    ],
    ("shipping", "ShipmentDelivered"): lambda d: [
        ("shipping", "ShipmentDelivered", f"Shipment {d['shipment_id']} delivered" + (" late" if d["late"] else ""))
    ],
    ("shipping", "ShipmentReturnedToSender"): lambda d: [
        ("shipping", "ShipmentReturnedToSender", f"Shipment {d['shipment_id']} returned to sender")
    ],
    ("shipping", "ShipmentCancelled"): lambda d: [
        ("shipping", "ShipmentCancelled", f"Shipment {d['shipment_id']} cancelled: {d['reason']}")
    ],
    ("shipping", "OrderShipmentsCancelled"): lambda d: [
        (
            "shipping",
            "OrderShipmentsCancelled",
            f"Shipping confirmed the cancellation: nothing had left ({len(d['shipment_ids'])} shipments stopped)",
        )
    ],
    ("shipping", "OrderShipmentsCancellationRefused"): lambda d: [
        (
            "shipping",
            "OrderShipmentsCancellationRefused",
            f"Shipping refused the cancellation: {', '.join(d['dispatched'])} {d['refusal']}",
        )
    ],
    ("shipping", "ShipmentCancellationRefused"): lambda d: [
        ("shipping", "ShipmentCancellationRefused", f"Shipment {d['shipment_id']} not cancelled: {d['refusal']}")
    ],
    ("customer_service", "CaseOpened"): lambda d: [
        (
            "customer_service",
            "CaseOpened",
            f"Case {d['case_id']} opened by {d['agent_id']} ({d['category']}, {d.get('priority', 'normal')}): "
            f"{d['summary']}",
        )
    ],
    ("customer_service", "CaseNoteAdded"): lambda d: [
        ("customer_service", "CaseNoteAdded", f"Note on {d['case_id']} by {d['agent_id']}: {d['note']}")
    ],
    ("customer_service", "CaseEscalated"): lambda d: [
        ("customer_service", "CaseEscalated", f"Case {d['case_id']} escalated by {d['agent_id']}: {d['reason']}")
    ],
    ("customer_service", "CaseResolved"): lambda d: [
        ("customer_service", "CaseResolved", f"Case {d['case_id']} resolved by {d['agent_id']}: {d['outcome']}")
    ],
    ("customer_service", "CaseWaitingOnCustomer"): lambda d: [
        ("customer_service", "CaseWaitingOnCustomer", f"Case {d['case_id']} waits on the customer: {d['note']}")
    ],
    ("customer_service", "CaseCustomerReplied"): lambda d: [
        ("customer_service", "CaseCustomerReplied", f"Customer replied on {d['case_id']}: {d['note']}")
    ],
    ("customer_service", "CaseTargetBreached"): lambda d: [
        (
            "customer_service",
            "CaseTargetBreached",
            f"Case {d['case_id']} ({d['priority']}) missed its {d['target'].replace('_', ' ')} target "
            f"of {_duration(int(d['target_s']))}",
        )
    ],
    # The review platform is not one of the contract's timeline sources: support received the review.
    ("reviews", "ReviewSubmitted"): lambda d: [
        (
            "customer_service",
            "ReviewReceived",
            f"Review {d['review_id']}: {d['rating']} of 5 stars" + (f": {d['text'][:200]}" if d["text"] else ""),
        )
    ],
    ("customer_service", "CancellationRequestedByAgent"): lambda d: [
        (
            "customer_service",
            "CancellationRequestedByAgent",
            f"Agent {d['agent_id']} requested cancellation: {d['reason']}",
        )
    ],
    ("customer_service", "ReturnRequestedByAgent"): lambda d: [
        (
            "customer_service",
            "ReturnRequestedByAgent",
            f"Agent {d['agent_id']} requested a return of {_items(d['lines'])}: {d['reason']}",
        )
    ],
}


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _returned(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"sku": line["sku"], "quantity": int(line["resellable"]) + int(line["damaged"])} for line in lines]


def _tracking(event: ReceivedEvent) -> list[Entry]:
    # The carrier's own time, not when shipping relayed it: late-arriving updates land where they happened.
    d = event.data
    where = f" at {d['location']}" if d.get("location") else ""
    detail = f": {d['detail']}" if d.get("detail") else ""
    summary = f"{d['carrier']} {d['tracking_number']}: {d['status']}{where}{detail}"
    return [_entry(event, 0, "carrier", "TrackingUpdated", summary, at=_normalise(d["reported_at"]))]


def _normalise(at: str) -> str:
    return iso(parse_iso(at))


def _entry(event: ReceivedEvent, index: int, source: str, type_: str, summary: str, at: str | None = None) -> Entry:
    return {
        "entry_id": f"{event.event_id}:{index}",
        "at": at or event.occurred_at,
        "source": source,
        "type": type_,
        "summary": summary,
        "event_id": event.event_id,
        "seq": event.seq,
        "index": index,
    }


def entries_for(event: ReceivedEvent) -> list[Entry]:
    if (event.source, event.type) == ("shipping", "ShipmentTrackingUpdated"):
        return _tracking(event)
    describe = DESCRIBE.get((event.source, event.type))
    if describe is None:
        return []
    return [
        _entry(event, index, source, type_, summary)
        for index, (source, type_, summary) in enumerate(describe(event.data))
    ]


def sort_key(entry: Entry) -> tuple[str, int, int]:
    return (entry["at"], entry["seq"], entry["index"])
