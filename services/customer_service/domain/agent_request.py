"""The AgentRequest aggregate: an agent asked the orders service to act on an order (cancel it, take a return).

The request is a fact of customer service's own log; the orders service decides on it (same rules as for the
storefront) and its answer comes back as an orders event. One aggregate per request, so that an idempotency key
maps to exactly one request.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

REQUEST_NAMESPACE = uuid5(NAMESPACE_URL, "urn:fulfillment:customer_service:agent-request")
CANCELLATION = "cancellation"
RETURN = "return"


class AgentRequest(Aggregate):
    class Requested(Aggregate.Created):
        order_id: str
        request_id: str
        kind: str
        # [{"sku": ..., "quantity": ...}] for returns: a list, since skus may contain '.' (not a MongoDB key).
        lines: list[dict[str, object]]
        reason: str
        agent_id: str

    @staticmethod
    def create_id(request_id: str) -> UUID:
        return uuid5(REQUEST_NAMESPACE, request_id)

    @event(Requested)
    def __init__(
        self, order_id: str, request_id: str, kind: str, lines: list[dict[str, object]], reason: str, agent_id: str
    ) -> None:
        self.order_id = order_id
        self.request_id = request_id
        self.kind = kind
        self.lines = lines
        self.reason = reason
        self.agent_id = agent_id
