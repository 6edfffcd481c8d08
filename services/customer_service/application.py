"""Customer service's use cases: support cases and the requests agents make on orders.

Synchronous and free of I/O imports (the HTTP layer runs them off the event loop). Each returns plain values.
Commands from HTTP may carry an idempotency key: the same key names the same case or request, so a retried
POST finds what the first one made instead of making a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import EnvType

from services.customer_service.domain.agent_request import CANCELLATION, RETURN, AgentRequest
from services.customer_service.domain.case import SupportCase
from services.customer_service.domain.erasure import PersonalDataErasure
from services.customer_service.domain.targets import (
    DEFAULT_TARGETS,
    TARGET_KINDS,
    Targets,
    check_priority,
    complaint_priority,
    default_priority,
)
from shared.messaging.application import ServiceApplication

KEY_NAMESPACE = uuid5(NAMESPACE_URL, "urn:fulfillment:customer_service:idempotency-key")
REVIEW_NAMESPACE = uuid5(NAMESPACE_URL, "urn:fulfillment:customer_service:review")
# The actor of what customer_service does by itself (complaints from reviews).
REVIEW_PLATFORM = "review-platform"


@dataclass(frozen=True)
class Review:
    """A customer's review of an order, as a command: the edge has validated it."""

    review_id: str
    order_id: str
    rating: int
    text: str
    # The order's total as support knows it (None: not known yet).
    order_value: float | None


class UnknownCase(LookupError):
    """No case has this id."""


class SupportApplication(ServiceApplication):
    name = "customer_service"

    def __init__(
        self,
        env: EnvType | None = None,
        targets: Mapping[str, Targets] = DEFAULT_TARGETS,
        complaint_high_value: float = 100.0,
        near: float = 0.25,
    ) -> None:
        super().__init__(env)
        self.targets = dict(targets)
        self.complaint_high_value = complaint_high_value
        # A clock with less than this share of its target left is "due soon".
        self.near = near

    # Cases.

    def open_case(
        self,
        order_id: str,
        category: str,
        summary: str,
        agent_id: str,
        idempotency_key: str | None = None,
        priority: str | None = None,
    ) -> dict[str, Any]:
        case_id = "CASE-" + _token(idempotency_key, "case", order_id)
        existing = self._find_case(case_id)
        if existing is not None:
            return _case_view(existing)
        chosen = check_priority(priority or default_priority(category))
        case = SupportCase.open(case_id, order_id, category, summary, agent_id, chosen, self.targets[chosen])
        return _case_view(self._save_new(case))

    def open_complaint(self, review: Review) -> str | None:
        """A review of 1 or 2 stars opens a complaint on its order; the same review again opens nothing more.
        Returns the complaint's case id (None: the review needs none)."""
        priority = complaint_priority(review.rating, review.order_value, self.complaint_high_value)
        if priority is None:
            return None
        case_id = "CASE-R" + uuid5(REVIEW_NAMESPACE, review.review_id).hex[:15].upper()
        if self._find_case(case_id) is None:
            summary = f"{review.rating}-star review {review.review_id}: {review.text or '(no text)'}"[:2000]
            case = SupportCase.open(
                case_id,
                review.order_id,
                "complaint",
                summary,
                REVIEW_PLATFORM,
                priority,
                self.targets[priority],
                review_id=review.review_id,
            )
            self._save_new(case)
        return case_id

    def record_breaches(self, case_id: str, now: datetime) -> list[str]:
        """Record the targets the case has passed by `now` and not yet recorded (each once, ever)."""
        case = self._case(case_id)
        recorded = case.record_breaches(now)
        if recorded:
            self.save(case)  # a concurrent change of the case fails this save; the next look tries again
        return recorded

    def wait_on_customer(self, case_id: str, note: str, agent_id: str) -> dict[str, Any]:
        case = self._case(case_id)
        case.wait_on_customer(note, agent_id)
        self.save(case)
        return _case_view(case)

    def customer_replied(self, case_id: str, note: str, agent_id: str) -> dict[str, Any]:
        case = self._case(case_id)
        case.customer_replied(note, agent_id)
        self.save(case)
        return _case_view(case)

    def _save_new(self, case: SupportCase) -> SupportCase:
        try:
            self.save(case)
        except IntegrityError:
            # The same id made at the same moment elsewhere (a retried request, a review seen twice during a
            # rebalance): that one is the case.
            existing = self._find_case(case.case_id)
            if existing is None:
                raise
            return existing
        return case

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
        return None if case is None else _case_view(case) | {"clocks": clocks_view(case, datetime.now(UTC), self.near)}

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
        "priority": case.priority,
        "targets": {kind: int(case.targets.of(kind).total_seconds()) for kind in TARGET_KINDS},
        "breaches": {kind: moment.isoformat() for kind, moment in case.breaches.items()},
        "summary": case.summary,
        "status": case.status,
        "opened_by": case.opened_by,
        "opened_at": case.created_on.isoformat(),
        "updated_at": case.modified_on.isoformat(),
        "notes": list(case.notes),
        "escalation": case.escalation,
        "resolution": case.resolution,
    }


def clocks_view(case: SupportCase, now: datetime, near: float) -> dict[str, dict[str, Any]]:
    """Each target's clock as an agent reads it: its state, the time on it, and when it falls due."""
    shown = {}
    for kind in TARGET_KINDS:
        clock = case.clock(kind)
        due = clock.due_at(now)
        breached = case.breaches.get(kind) or clock.breached_at(now)
        shown[kind] = {
            "state": clock.state(now, near),
            "target_s": int(clock.target.total_seconds()),
            "elapsed_s": int(clock.elapsed(now).total_seconds()),
            "due_at": None if due is None else due.isoformat(),
            "breached_at": None if breached is None else breached.isoformat(),
        }
    return shown
