"""Order metrics read off the orders event log as the relay publishes it: orders received and how long
orders take to reach each stage of fulfillment."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from services.orders.domain.order import Order
from shared.telemetry import FulfillmentMetrics

# The stages an operator watches, as display statuses (see docs/fulfillment-flow.md).
STAGES = ("reserved", "shipped", "delivered")
TRACKED_ORDERS = 50_000


class OrderStageObserver:
    """Receipt times are kept in memory for the orders in flight: after a restart the relay resumes past
    events it already published, so only orders received since then are timed (the counters still count)."""

    def __init__(self, metrics: FulfillmentMetrics) -> None:
        self.metrics = metrics
        self._received_at: OrderedDict[str, datetime] = OrderedDict()

    def __call__(self, event: object) -> None:
        if isinstance(event, Order.Placed):
            outcome = "rejected" if event.rejection else "accepted"
            self.metrics.orders_received.add(1, {"outcome": outcome})
            self._received_at[event.order_id] = event.timestamp
            if len(self._received_at) > TRACKED_ORDERS:
                self._received_at.popitem(last=False)
        elif isinstance(event, Order.StatusChanged) and event.status in STAGES:
            received = self._received_at.get(event.order_id)
            if received is not None:
                seconds = (event.timestamp - received).total_seconds()
                self.metrics.stage_duration.record(seconds, {"stage": event.status})
            if event.status == "delivered":
                self._received_at.pop(event.order_id, None)
