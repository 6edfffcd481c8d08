"""The services' words the console offers in its forms: copies of shared/contracts' literals (console/ may not
import shared; tests/unit/console checks they still match)."""

from __future__ import annotations

ORDER_STATUSES = (
    "received",
    "backordered",
    "reserved",
    "partially_shipped",
    "shipped",
    "delivered",
    "cancelled",
    "rejected",
    "return_requested",
    "returned",
    "refunded",
)
CASE_CATEGORIES = {
    "late_delivery": "Late delivery",
    "damaged_item": "Damaged item",
    "wrong_item": "Wrong item",
    "complaint": "Complaint",
    "other": "Other",
}
CASE_PRIORITIES = ("urgent", "high", "normal", "low")
