"""Customer service's use cases: support cases and the requests agents make on orders.

Synchronous and free of I/O imports (the HTTP layer runs them off the event loop). Each returns plain values.
Commands from HTTP may carry an idempotency key: the same key names the same case or request, so a retried
POST finds what the first one made instead of making a second.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError

from services.customer_service.domain.agent_request import CANCELLATION, RETURN, AgentRequest
from services.customer_service.domain.case import SupportCase
from services.customer_service.domain.erasure import PersonalDataErasure
from shared.messaging.application import ServiceApplication

KEY_NAMESPACE = uuid5(NAMESPACE_URL, "urn:fulfillment:customer_service:idempotency-key")


class UnknownCase(LookupError):
    """No case has this id."""


class SupportApplication(ServiceApplication):
    name = "customer_service"

    # Cases.

    def open_case(
        self, order_id: str, category: str, summary: str, agent_id: str, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        case_id = "CASE-" + _token(idempotency_key, "case", order_id)
        existing = self._find_case(case_id)
        if existing is not None:
            return _case_view(existing)
        case = SupportCase.open(case_id, order_id, category, summary, agent_id)
        self.save(case)
        return _case_view(case)

    def add_note(self, case_id: str, note: str, agent_id: str) -> dict[str, Any]:
        case = self._case(case_id)
        case.add_note(note, agent_id)
        self.save(case)
        return _case_view(case)

    def escalate(self, case_id: str, reason: str, agent_id: str) -> dict[str, Any]:
        case = self._case(case_id)
        case.escalate(reason, agent_id)
        self.save(case)
        return _case_view(case)

    def resolve(self, case_id: str, outcome: str, agent_id: str) -> dict[str, Any]:
        case = self._case(case_id)
        case.resolve(outcome, agent_id)
        self.save(case)
        return _case_view(case)

    def get_case(self, case_id: str) -> dict[str, Any] | None:
        case = self._find_case(case_id)
        return None if case is None else _case_view(case)

    # Requests to the orders service.

    def request_cancellation_for_agent(
        self, order_id: str, reason: str, agent_id: str, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        return self._request(CANCELLATION, order_id, [], reason, agent_id, idempotency_key)

    def request_return_for_agent(
        self,
        order_id: str,
        lines: list[dict[str, object]],
        reason: str,
        agent_id: str,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        return self._request(RETURN, order_id, lines, reason, agent_id, idempotency_key)

    def _request(
        self,
        kind: str,
        order_id: str,
        lines: list[dict[str, object]],
        reason: str,
        agent_id: str,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        request_id = f"REQ-{_token(idempotency_key, kind, order_id)}"
        try:
            request: AgentRequest = self.repository.get(AgentRequest.create_id(request_id))
        except AggregateNotFoundError:
            request = AgentRequest(
                order_id=order_id, request_id=request_id, kind=kind, lines=lines, reason=reason, agent_id=agent_id
            )
            self.save(request)
        return {
            "request_id": request.request_id,
            "order_id": request.order_id,
            "kind": request.kind,
            "agent_id": request.agent_id,
            "status": "requested",
        }

    # Personal data.

    def record_erasure(self, customer_id: str, requested_by: str) -> dict[str, Any]:
        """Recorded here, carried out by every service holding personal data (this one's projections included)
        when the event comes back from Kafka."""
        erasure = PersonalDataErasure.request(customer_id, requested_by)
        self.save(erasure)
        return {"erasure_id": erasure.erasure_id, "customer_id": customer_id, "requested_by": requested_by}

    # Loading.

    def _case(self, case_id: str) -> SupportCase:
        case = self._find_case(case_id)
        if case is None:
            raise UnknownCase(f"unknown case {case_id!r}")
        return case

    def _find_case(self, case_id: str) -> SupportCase | None:
        try:
            case: SupportCase = self.repository.get(SupportCase.create_id(case_id))
        except AggregateNotFoundError:
            return None
        return case


def _token(idempotency_key: str | None, kind: str, order_id: str) -> str:
    """A fresh id, or the same one for the same key (scoped by kind and order, so keys cannot collide across)."""
    if idempotency_key is None:
        return uuid4().hex[:16].upper()
    return uuid5(KEY_NAMESPACE, f"{kind}:{order_id}:{idempotency_key}").hex[:16].upper()


def _case_view(case: SupportCase) -> dict[str, Any]:
    return {
        "case_id": case.case_id,
        "order_id": case.order_id,
        "category": case.category,
        "summary": case.summary,
        "status": case.status,
        "opened_by": case.opened_by,
        "opened_at": case.created_on.isoformat(),
        "updated_at": case.modified_on.isoformat(),
        "notes": list(case.notes),
        "escalation": case.escalation,
        "resolution": case.resolution,
    }
