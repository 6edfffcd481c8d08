"""A hand-built week of a small shop, as the four services would have published it, with known event times.

Seven orders from 2026-11-02 to 2026-11-05 (UTC): on time, split (one part shipped late), backordered and filled
(shipped and delivered late), cancelled once reserved, cancelled on arrival, returned (one unit damaged,
refunded), returned resellable (refund still due); two support cases; the stock levels behind them. Every
expected figure below is worked out by hand in the comments, from the event times, not by the code under test.
Ship-by rule: the default (standard +1 day, express +0, +1 from 14:00 UTC).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

NAMESPACE = uuid.UUID("6f0c1d1e-2b7a-4c55-9a8e-4b1f1c2d3e4f")
START, END = "2026-11-02", "2026-11-09"


@dataclass(frozen=True)
class Published:
    topic: str  # without the stack's prefix
    key: str
    type: str
    occurred_at: str
    data: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(uuid.uuid5(NAMESPACE, f"{self.topic}|{self.type}|{self.key}|{self.occurred_at}|{self.data}"))

    def value(self) -> bytes:
        return json.dumps(
            {"event_id": self.event_id, "type": self.type, "occurred_at": self.occurred_at, "data": self.data}
        ).encode()


PRICES = {"A": "10.00", "B": "5.00"}
CUSTOMERS = {"C1": "c1@example.com", "C2": "c2@example.com", "C3": "c3@example.com", "C4": "c4@example.com"}
ADDRESS = {"name": "Ana", "line1": "Rua 1", "line2": None, "city": "Lisboa", "postal_code": "1100-053", "country": "PT"}


def _order(order_id: str, customer: str, at: str, method: str, promised: str, lines: dict[str, int]) -> Published:
    priced = [{"sku": s, "quantity": q, "unit_price": PRICES[s]} for s, q in lines.items()]
    total = sum(float(PRICES[s]) * q for s, q in lines.items())
    data = {
        "order_id": order_id,
        "customer": {"id": customer, "email": CUSTOMERS[customer], "name": customer},
        "shipping_address": ADDRESS,
        "lines": priced,
        "currency": "EUR",
        "total": f"{total:.2f}",
        "shipping_method": method,
        "promised_delivery_by": promised,
    }
    return Published("orders.events.v1", order_id, "OrderAccepted", at, data)


def _reserved(order_id: str, at: str, *allocations: tuple[str, str, int]) -> Published:
    data = {"order_id": order_id, "allocations": [{"sku": s, "warehouse": w, "quantity": q} for s, w, q in allocations]}
    return Published("inventory.events.v1", order_id, "StockReserved", at, data)


def _lines(lines: dict[str, int]) -> list[dict[str, Any]]:
    return [{"sku": s, "quantity": q} for s, q in lines.items()]


SHIPMENTS: dict[str, tuple[str, str, dict[str, int], str]] = {}


def _created(shipment: str, order_id: str, warehouse: str, lines: dict[str, int], at: str, promised: str) -> Published:
    SHIPMENTS[shipment] = (order_id, warehouse, lines, promised)
    data = {
        "shipment_id": shipment,
        "order_id": order_id,
        "warehouse": warehouse,
        "lines": _lines(lines),
        "promised_delivery_by": promised,
    }
    return Published("shipping.events.v1", order_id, "ShipmentCreated", at, data)


def _dispatched(shipment: str, at: str, carrier: str) -> Published:
    order_id, warehouse, lines, _ = SHIPMENTS[shipment]
    data = {
        "shipment_id": shipment,
        "order_id": order_id,
        "warehouse": warehouse,
        "lines": _lines(lines),
        "carrier": carrier,
        "tracking_number": f"TN-{shipment}",
    }
    return Published("shipping.events.v1", order_id, "ShipmentDispatched", at, data)


def _delivered(shipment: str, at: str, late: bool) -> Published:
    order_id, warehouse, lines, promised = SHIPMENTS[shipment]
    data = {
        "shipment_id": shipment,
        "order_id": order_id,
        "warehouse": warehouse,
        "lines": _lines(lines),
        "delivered_at": at,
        "promised_delivery_by": promised,
        "late": late,
    }
    return Published("shipping.events.v1", order_id, "ShipmentDelivered", at, data)


def _level(sku: str, warehouse: str, at: str, on_hand: int, allocated: int, cause: str) -> Published:
    data = {
        "sku": sku,
        "warehouse": warehouse,
        "on_hand": on_hand,
        "allocated": allocated,
        "available": on_hand - allocated,
        "cause": cause,
        "order_id": None,
    }
    return Published("inventory.events.v1", sku, "StockLevelChanged", at, data)


def _cancelled(order_id: str, at: str, reason: str, refund: str) -> Published:
    data = {
        "order_id": order_id,
        "reason": reason,
        "requested_by": "customer",
        "refund_amount": refund,
        "currency": "EUR",
    }
    return Published("orders.events.v1", order_id, "OrderCancelled", at, data)


def _case(type_: str, case_id: str, order_id: str, at: str, **extra: str) -> Published:
    data = {"case_id": case_id, "order_id": order_id, "agent_id": "agent-1", **extra}
    return Published("customer_service.events.v1", order_id, type_, at, data)


def events() -> list[Published]:
    SHIPMENTS.clear()
    return [
        # Stock before the week.
        _level("A", "LIS-1", "2026-11-01T08:00:00Z", 3, 0, "received"),
        _level("B", "MAD-1", "2026-11-01T08:00:00Z", 3, 0, "received"),
        _level("B", "LIS-1", "2026-11-01T08:00:00Z", 1, 0, "received"),
        # O1: C1, standard, on time all along: perfect.
        _order("O1", "C1", "2026-11-02T09:00:00Z", "standard", "2026-11-05", {"A": 2}),
        _reserved("O1", "2026-11-02T09:30:00Z", ("A", "LIS-1", 2)),
        _level("A", "LIS-1", "2026-11-02T09:30:00Z", 3, 2, "allocated"),
        _created("S1", "O1", "LIS-1", {"A": 2}, "2026-11-02T09:31:00Z", "2026-11-05"),
        _dispatched("S1", "2026-11-03T10:00:00Z", "DHL"),
        _level("A", "LIS-1", "2026-11-03T10:00:00Z", 0, 0, "shipped"),
        _delivered("S1", "2026-11-04T12:00:00Z", False),
        # O2: C2, placed after the 14:00 cutoff (ship-by 11-04), split over two warehouses; MAD-1 ships late.
        _order("O2", "C2", "2026-11-02T15:00:00Z", "standard", "2026-11-06", {"A": 1, "B": 1}),
        _reserved("O2", "2026-11-02T15:10:00Z", ("A", "LIS-1", 1), ("B", "MAD-1", 1)),
        _level("A", "LIS-1", "2026-11-02T15:10:00Z", 3, 3, "allocated"),
        _level("B", "MAD-1", "2026-11-02T15:10:00Z", 3, 1, "allocated"),
        _created("S2a", "O2", "LIS-1", {"A": 1}, "2026-11-02T15:11:00Z", "2026-11-06"),
        _created("S2b", "O2", "MAD-1", {"B": 1}, "2026-11-02T15:11:00Z", "2026-11-06"),
        _dispatched("S2a", "2026-11-03T09:00:00Z", "UPS"),
        _level("A", "LIS-1", "2026-11-03T09:00:00Z", 2, 2, "shipped"),
        _dispatched("S2b", "2026-11-05T09:00:00Z", "DHL"),
        _level("B", "MAD-1", "2026-11-05T09:00:00Z", 2, 0, "shipped"),
        _delivered("S2a", "2026-11-04T10:00:00Z", False),
        _delivered("S2b", "2026-11-06T18:00:00Z", False),
        # O3: C1 again, express (ship-by 11-03), backordered, filled a day later, shipped and delivered late.
        _order("O3", "C1", "2026-11-03T08:00:00Z", "express", "2026-11-04", {"A": 1}),
        Published(
            "inventory.events.v1",
            "O3",
            "StockBackordered",
            "2026-11-03T08:01:00Z",
            {"order_id": "O3", "lines": [{"sku": "A", "quantity": 1}]},
        ),
        _level("A", "LIS-1", "2026-11-04T07:00:00Z", 5, 0, "received"),
        _reserved("O3", "2026-11-04T08:00:00Z", ("A", "LIS-1", 1)),
        _level("A", "LIS-1", "2026-11-04T08:00:00Z", 5, 1, "allocated"),
        _created("S3", "O3", "LIS-1", {"A": 1}, "2026-11-04T08:01:00Z", "2026-11-04"),
        _dispatched("S3", "2026-11-04T12:00:00Z", "DHL"),
        _level("A", "LIS-1", "2026-11-04T12:00:00Z", 4, 1, "shipped"),
        _delivered("S3", "2026-11-05T10:00:00Z", True),
        # O4: C3, cancelled once reserved (a shipment was requested and is cancelled).
        _order("O4", "C3", "2026-11-03T10:00:00Z", "standard", "2026-11-07", {"B": 2}),
        _reserved("O4", "2026-11-03T10:05:00Z", ("B", "MAD-1", 2)),
        _level("B", "MAD-1", "2026-11-03T10:05:00Z", 3, 3, "allocated"),
        _created("S4", "O4", "MAD-1", {"B": 2}, "2026-11-03T10:06:00Z", "2026-11-07"),
        _cancelled("O4", "2026-11-03T11:00:00Z", "customer_changed_mind", "10.00"),
        Published(
            "shipping.events.v1",
            "O4",
            "ShipmentCancelled",
            "2026-11-03T11:01:00Z",
            {"shipment_id": "S4", "order_id": "O4", "warehouse": "MAD-1", "reason": "order cancelled"},
        ),
        _level("B", "MAD-1", "2026-11-03T11:01:00Z", 3, 1, "released"),
        # O5: C2 again, on time, returned: one unit resellable, one damaged; refunded in full.
        _order("O5", "C2", "2026-11-04T09:00:00Z", "standard", "2026-11-07", {"A": 1, "B": 1}),
        _reserved("O5", "2026-11-04T09:10:00Z", ("A", "LIS-1", 1), ("B", "LIS-1", 1)),
        _level("A", "LIS-1", "2026-11-04T09:10:00Z", 5, 2, "allocated"),
        _level("B", "LIS-1", "2026-11-04T09:10:00Z", 1, 1, "allocated"),
        _created("S5", "O5", "LIS-1", {"A": 1, "B": 1}, "2026-11-04T09:11:00Z", "2026-11-07"),
        _dispatched("S5", "2026-11-04T16:00:00Z", "DHL"),
        _level("A", "LIS-1", "2026-11-04T16:00:00Z", 3, 0, "shipped"),
        _level("B", "LIS-1", "2026-11-04T16:00:00Z", 0, 0, "shipped"),
        _delivered("S5", "2026-11-06T09:00:00Z", False),
        Published(
            "orders.events.v1",
            "O5",
            "ReturnApproved",
            "2026-11-07T09:00:00Z",
            {
                "order_id": "O5",
                "return_id": "R5",
                "lines": _lines({"A": 1, "B": 1}),
                "reason": "wrong_size",
                "requested_by": "customer",
            },
        ),
        Published(
            "orders.events.v1",
            "O5",
            "ReturnReceived",
            "2026-11-08T10:00:00Z",
            {"order_id": "O5", "return_id": "R5", "resellable": _lines({"A": 1}), "damaged": _lines({"B": 1})},
        ),
        _level("A", "LIS-1", "2026-11-08T10:00:00Z", 4, 0, "returned"),
        Published(
            "orders.events.v1",
            "O5",
            "RefundIssued",
            "2026-11-08T12:00:00Z",
            {"order_id": "O5", "return_id": "R5", "amount": "15.00", "currency": "EUR", "payment_reference": "pi_5"},
        ),
        # O6: C4, cancelled before anything was reserved (payment only authorized: nothing to refund).
        _order("O6", "C4", "2026-11-05T09:00:00Z", "standard", "2026-11-08", {"A": 1}),
        _cancelled("O6", "2026-11-05T09:30:00Z", "found_cheaper", "0"),
        # O7: C4, on time; returned resellable, refund not issued yet.
        _order("O7", "C4", "2026-11-05T10:00:00Z", "standard", "2026-11-08", {"B": 1}),
        _reserved("O7", "2026-11-05T10:10:00Z", ("B", "MAD-1", 1)),
        _level("B", "MAD-1", "2026-11-05T10:10:00Z", 2, 1, "allocated"),
        _created("S7", "O7", "MAD-1", {"B": 1}, "2026-11-05T10:11:00Z", "2026-11-08"),
        _dispatched("S7", "2026-11-06T08:00:00Z", "UPS"),
        _level("B", "MAD-1", "2026-11-06T08:00:00Z", 1, 0, "shipped"),
        _delivered("S7", "2026-11-07T08:00:00Z", False),
        Published(
            "orders.events.v1",
            "O7",
            "ReturnApproved",
            "2026-11-08T09:00:00Z",
            {
                "order_id": "O7",
                "return_id": "R7",
                "lines": _lines({"B": 1}),
                "reason": "changed_mind",
                "requested_by": "customer",
            },
        ),
        Published(
            "orders.events.v1",
            "O7",
            "ReturnReceived",
            "2026-11-09T10:00:00Z",
            {"order_id": "O7", "return_id": "R7", "resellable": _lines({"B": 1}), "damaged": []},
        ),
        # Support: a late-delivery case answered after 2 h and resolved after 24 h; another never answered.
        _case("CaseOpened", "K1", "O3", "2026-11-05T11:00:00Z", category="late_delivery", summary="where is it"),
        _case("CaseNoteAdded", "K1", "O3", "2026-11-05T13:00:00Z", note="carrier says tomorrow"),
        _case("CaseResolved", "K1", "O3", "2026-11-06T11:00:00Z", outcome="delivered"),
        _case("CaseOpened", "K2", "O2", "2026-11-06T09:00:00Z", category="other", summary="invoice copy"),
    ]


# Settings the scenario runs with (replenishment: a 7-day window, lead time 2 days for A, 3 by default).
SETTINGS = {
    "REPLENISHMENT_WINDOW_DAYS": "7",
    "REPLENISHMENT_LEAD_TIMES": '{"A": 2}',
    "REPLENISHMENT_DEFAULT_LEAD_TIME_DAYS": "3",
    "REPLENISHMENT_SERVICE_LEVEL": "0.95",
    "REPLENISHMENT_COVER_DAYS": "7",
}

# Over 2026-11-02 .. 2026-11-09.
EXPECTED_FULFILLMENT = {
    "orders": 7,
    # Dispatched: S1 11-03 (ship-by 11-03), S2a 11-03 (11-04), S2b 11-05 (11-04: late), S3 11-04 (express,
    # 11-03: late), S5 11-04 (11-05), S7 11-06 (11-06): 4 of 6.
    "on_time_ship_rate": 0.6667,
    "shipments_dispatched": 6,
    # Delivered: six shipments, S3 late: 5 of 6.
    "on_time_delivery_rate": 0.8333,
    "shipments_delivered": 6,
    # Units in the first shipment / ordered, of orders that shipped: (2+1+1+2+1) / (2+2+1+2+1).
    "fill_rate": 0.875,
    "backorder_rate": 0.1429,  # O3 of 7
    "split_shipment_rate": 0.2,  # O2 of the 5 that shipped (O4's shipment was cancelled)
    "cancellation_rate": 0.2857,  # O4, O6 of 7
    "perfect_order_rate": 0.2857,  # O1 and O7 of 7 scored (O5: returned damaged; O2, O3 late; O4, O6 cancelled)
}
EXPECTED_CANCELLATIONS = {
    "by_stage": {"received": 0.1429, "reserved": 0.1429},
    "by_reason": {"customer_changed_mind": 0.1429, "found_cheaper": 0.1429},
}
# Placed → fully reserved, in minutes: 30, 10, 1440 (backorder filled next day), 5, 10, 10 → p50 10 min, p90 24 h.
# Placed → dispatched: 1500, 1080, 3960, 1680, 420, 1320 → p50 1320 (22 h), p90 3960 (66 h).
# Placed → delivered: 3060, 2580, 5940, 3000, 2880, 2760 → p50 2880 (48 h), p90 5940 (99 h).
EXPECTED_CYCLES = {
    "placed_to_reserved": (0.1667, 24.0),
    "placed_to_dispatched": (22.0, 66.0),
    "placed_to_delivered": (48.0, 99.0),
}
# Dispatched from LIS-1: S1 1500, S2a 1080, S3 1680, S5 420 → p50 1080 (18 h); MAD-1: S2b 3960, S7 1320 → p50 22 h.
EXPECTED_DISPATCH_BY_WAREHOUSE = {"LIS-1": (18.0, 28.0), "MAD-1": (22.0, 66.0)}
EXPECTED_RETURNS = {
    "returned_units": 3,  # R5: A resellable + B damaged (11-08); R7: B resellable (11-09)
    "delivered_units": 8,  # A: 2+1+1+1, B: 1+1+1
    "return_rate": 0.375,
    "return_rate_by_sku": {"A": 0.2, "B": 0.6667},
    "return_rate_by_reason": {"changed_mind": 0.125, "wrong_size": 0.25},
    "refunds": 1,
    "refunded_amount": 15.0,
    "resellable_share": 0.6667,
    "damaged_share": 0.3333,
}
EXPECTED_REFUND_TIME_P50_H = 2.0  # R5 received 10:00, refunded 12:00
EXPECTED_CUSTOMERS = {
    "orders": 5,  # not cancelled: O1, O2, O3, O5, O7
    "customers": 3,  # C1, C2, C4 (C3's only order was cancelled)
    "net_revenue": 50.0,  # 20 + 15 + 10 + (15 - 15 refunded) + 5
    "aov": 10.0,
    "purchase_frequency": 1.6667,
    "repeat_customer_rate": 0.6667,  # C1 and C2
}
EXPECTED_TOP_CUSTOMERS = [("C1", 30.0, 2), ("C2", 15.0, 2), ("C4", 5.0, 1)]
EXPECTED_SUPPORT = {
    "cases_opened": 2,
    "cases_by_category": {"late_delivery": 1, "other": 1},
    "cases_resolved": 1,
    "open_cases": 1,  # K2, opened 2026-11-06: older than 7 days by now
}
EXPECTED_SUPPORT_TIMES = {"first_response_time": 2.0, "resolution_time": 24.0}  # p50 in hours
# Per sku @ warehouse over the 8 days: available at the end, units out, days of supply (available / (out / 8)),
# sell-through (out / (out + available)), stock-out days (a day with available 0 at some moment, or carried 0).
EXPECTED_INVENTORY = {
    # Out 11-03: 1 + 2, 11-04: 1 + 1; available 0 from 11-02 15:10 to 11-04 07:00 (3 days); 4 after the return.
    ("A", "LIS-1"): {"available": 4, "units_out": 5, "days_of_supply": 6.4, "sell_through": 0.5556,
                     "stock_out_days": 3, "backordered_units": 1, "backordered_orders": 1},
    # 0 on 11-03 between O4's reservation and its release.
    ("B", "MAD-1"): {"available": 1, "units_out": 2, "days_of_supply": 4.0, "sell_through": 0.6667,
                     "stock_out_days": 1, "backordered_units": 0, "backordered_orders": 0},
    # 0 from 11-04 09:10 to the end: 11-04 .. 11-09.
    ("B", "LIS-1"): {"available": 0, "units_out": 1, "days_of_supply": 0.0, "sell_through": 1.0,
                     "stock_out_days": 6, "backordered_units": 0, "backordered_orders": 0},
}  # fmt: skip
# As of 2026-11-09, 7-day window 11-03..11-09, z(0.95) = 1.644854:
# A@LIS-1: demand [0,2,0,0,0,0,0]: mean 0.285714, sd 0.699854, L 2: safety 1.628, ROP 0.5714 + 1.628 = 2.20.
# B@MAD-1: demand [2,0,1,0,0,0,0]: mean 0.428571, sd 0.728431, L 3: safety 2.0753, ROP 1.2857 + 2.0753 = 3.36;
#          available 1 < 3.36: order up to 0.428571 * (3 + 7) + 2.0753 = 6.36 → suggest ceil(5.36) = 6.
# B@LIS-1: demand [0,1,0,0,0,0,0]: mean 0.142857, sd 0.349927, L 3: safety 0.9969, ROP 1.43; suggest ceil(2.43) = 3.
EXPECTED_REPLENISHMENT = [  # sorted by days of supply (available / mean demand)
    {"sku": "B", "warehouse": "LIS-1", "reorder_point": 1.43, "safety_stock": 1.0, "days_of_supply": 0.0,
     "suggested_quantity": 3, "below_reorder_point": True},
    {"sku": "B", "warehouse": "MAD-1", "reorder_point": 3.36, "safety_stock": 2.08, "days_of_supply": 2.33,
     "suggested_quantity": 6, "below_reorder_point": True},
    {"sku": "A", "warehouse": "LIS-1", "reorder_point": 2.2, "safety_stock": 1.63, "days_of_supply": 14.0,
     "suggested_quantity": 0, "below_reorder_point": False},
]  # fmt: skip
# Crossings live (window ending on each level's day): A@LIS-1 at 11-02 09:30 (1 < ROP 2.20), re-armed by the
# receipt of 11-04 07:00 (5 >= 3.30), again at 11-04 09:10 (3 < 4.13); B@MAD-1 at 11-03 10:05 (0 < 3.36);
# B@LIS-1 at 11-04 09:10 (0 < 1.43).
EXPECTED_CROSSINGS = {("A", "LIS-1"): 2, ("B", "MAD-1"): 1, ("B", "LIS-1"): 1}
