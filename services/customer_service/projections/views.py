"""What the stored history looks like to support: the public history, the per-order summary used for search and
customer views, the lookup keys it is found by, and the checks behind agents' immediate 409s."""

from __future__ import annotations

from collections import Counter
from typing import Any

from services.customer_service.projections.history import History, refunded_total

# A shipment in any of these has left the warehouse (carrier statuses follow dispatch).
SHIPPED = frozenset(
    {
        "dispatched",
        "label_created",
        "picked_up",
        "in_transit",
        "out_for_delivery",
        "available_for_pickup",
        "delivery_attempted",
        "delayed",
        "exception",
        "delivered",
        "returned_to_sender",
    }
)
TIMELINE_FIELDS = ("at", "source", "type", "summary", "event_id")


def history_view(history: History, as_of: str | None = None) -> dict[str, Any]:
    placed = history["placed"] or {}
    customer = placed.get("customer")
    return {
        "order_id": history["order_id"],
        "status": history["status"],
        "customer": customer,
        "placed_at": placed.get("at"),
        "updated_at": history["updated_at"],
        "as_of": as_of,
        "currency": placed.get("currency"),
        "total": placed.get("total"),
        "shipping_method": placed.get("shipping_method"),
        "promised_delivery_by": placed.get("promised_delivery_by"),
        "shipping_address": placed.get("shipping_address"),
        "rejection": placed.get("rejection"),
        "lines": line_counters(history),
        "shipments": history["shipments"],
        "cancellation": history["cancellation"],
        "cancellation_refusals": history["cancellation_refusals"],
        "cancellation_pending": history.get("cancellation_pending"),
        "returns": history["returns"],
        "refunds": history["refunds"],
        "refunded_total": str(refunded_total(history)),
        "cases": history["cases"],
        "agent_requests": history["agent_requests"],
        "reviews": history.get("reviews", []),
        "timeline": [{field: entry[field] for field in TIMELINE_FIELDS} for entry in history["timeline"]],
    }


def line_counters(history: History) -> list[dict[str, Any]]:
    """Per line what happened to its units, derived from the facts each service reported."""
    placed = history["placed"] or {}
    reserved = _sum(history["reservations"]) if not history["released"] else Counter[str]()
    backordered = _sum(history["backorders"])
    shipped = _sum(line for s in history["shipments"] if s["status"] in SHIPPED for line in s["lines"])
    delivered = _sum(line for s in history["shipments"] if s["status"] == "delivered" for line in s["lines"])
    returned = _sum(line for r in history["returns"] for line in r["resellable"] + r["damaged"])
    lines = []
    for line in placed.get("lines", []):
        sku, ordered = line["sku"], int(line["quantity"])
        lines.append(
            {
                "sku": sku,
                "quantity": ordered,
                "unit_price": line["unit_price"],
                "reserved": reserved[sku],
                # A backordered line is reserved whole when stock comes; until then it waits.
                "backordered": 0 if history["released"] or not backordered[sku] else max(0, ordered - reserved[sku]),
                "shipped": shipped[sku],
                "delivered": delivered[sku],
                "returned": returned[sku],
            }
        )
    return lines


def summary_of(history: History) -> dict[str, Any]:
    placed = history["placed"] or {}
    customer = placed.get("customer") or {}
    return {
        "_id": history["order_id"],
        "order_id": history["order_id"],
        "status": history["status"],
        "customer_id": customer.get("id"),
        "email": customer.get("email"),
        "customer_name": customer.get("name"),
        "placed_at": placed.get("at"),
        "updated_at": history["updated_at"],
        "currency": placed.get("currency"),
        "total": placed.get("total"),
        "refunded": str(refunded_total(history)),
        "items": sum(int(line["quantity"]) for line in placed.get("lines", [])),
        "open_cases": sum(1 for case in history["cases"] if case["status"] != "resolved"),
    }


def lookup_keys(history: History) -> set[str]:
    """The search keys that lead to this order (stored as lookups.py says: per partition, in bounded buckets)."""
    placed = history["placed"] or {}
    customer = placed.get("customer") or {}
    keys = {f"sku:{line['sku']}" for line in placed.get("lines", [])}
    if customer.get("id"):
        keys.add(f"customer:{customer['id']}")
    if customer.get("email"):
        keys.add(f"email:{str(customer['email']).lower()}")
    keys.update(f"tracking:{s['tracking_number']}" for s in history["shipments"] if s["tracking_number"])
    return keys


def cancellation_refusal(history: History) -> str | None:
    """Why the orders service will refuse a cancellation, if this history already shows it."""
    if history["status"] == "cancelled" or history["cancellation"] is not None:
        return f"order {history['order_id']} is already cancelled"
    if history["status"] == "rejected":
        return f"order {history['order_id']} was rejected; there is nothing to cancel"
    if history.get("cancellation_pending") is not None:
        # Orders answers one cancellation at a time: a second request would change nothing.
        return f"order {history['order_id']} has a cancellation pending: shipping is deciding it"
    dispatched = [s["shipment_id"] for s in history["shipments"] if s["status"] in SHIPPED]
    if dispatched or history["status"] in ("partially_shipped", "shipped", "delivered", "returned", "refunded"):
        return (
            f"order {history['order_id']} is {history['status']}: shipment {', '.join(dispatched) or '?'} is already "
            "dispatched; request a return instead"
        )
    return None


def return_refusal(history: History, lines: list[dict[str, Any]]) -> str | None:
    """Why the orders service will decline this return, if the history already shows it."""
    counters = {line["sku"]: line for line in line_counters(history)}
    claimed = _sum(line for r in history["returns"] if r["status"] == "approved" for line in r["lines"])
    problems = []
    for sku, quantity in _sum(lines).items():
        line = counters.get(sku)
        if line is None:
            problems.append(f"order {history['order_id']} has no sku {sku!r}")
            continue
        returnable = line["delivered"] - line["returned"] - claimed[sku]
        if quantity > returnable:
            problems.append(
                f"{sku}: {quantity} requested but {line['delivered']} delivered, "
                f"{line['returned'] + claimed[sku]} already returned or under return (status {history['status']})"
            )
    return "; ".join(problems) or None


def _sum(lines: Any) -> Counter[str]:
    total = Counter[str]()
    for line in lines:
        total[line["sku"]] += int(line["quantity"])
    return total
