"""The SupportCase aggregate: one customer problem with one order, from opening to resolution.

open (category, priority, summary) → notes, escalation, waiting on the customer ⇄ customer replied → resolved
(outcome). A resolved case is closed: no more notes, no second escalation or resolution. Every step names the
agent who took it and when. The case keeps its priority's targets as they were when it was opened (a later
change of the settings does not move an open case's deadlines) and records each breach once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, CanMutateAggregate, event

from services.customer_service.domain.targets import (
    FIRST_RESPONSE,
    TARGET_KINDS,
    Clock,
    Targets,
    check_priority,
)

CASE_NAMESPACE = uuid5(NAMESPACE_URL, "urn:fulfillment:customer_service:case")
CATEGORIES = ("late_delivery", "damaged_item", "wrong_item", "complaint", "other")


class CaseClosed(RuntimeError):
    """The case is resolved: it takes no more notes, escalations or resolutions."""


class AlreadyEscalated(RuntimeError):
    """Escalating twice would page the second line twice for one problem."""


class UnknownCategory(ValueError):
    """Only the categories support reports on are accepted."""


class NotWaiting(RuntimeError):
    """A customer's reply is recorded against a case that waits for one."""


class AlreadyWaiting(RuntimeError):
    """The case already waits on the customer."""


def _now() -> datetime:
    return datetime.now(UTC)


class SupportCase(Aggregate):
    class Event(Aggregate.Event):
        # The relay publishes keyed by order_id and sees only the event.
        order_id: str
        case_id: str

    # `at` on every event: the clocks are computed from these times. Events stored before the clocks existed
    # have none and count from the previous event's time (`_moment`).
    class Opened(Event, Aggregate.Created):
        category: str
        summary: str
        agent_id: str
        priority: str
        first_response_target_s: int
        resolution_target_s: int
        at: datetime
        review_id: str | None

    class NoteAdded(Event):
        note: str
        agent_id: str
        at: datetime

    class Escalated(Event):
        reason: str
        agent_id: str
        at: datetime

    class WaitingOnCustomer(Event):
        note: str
        agent_id: str
        at: datetime

    class CustomerReplied(Event):
        note: str
        agent_id: str
        at: datetime

    class Resolved(Event):
        outcome: str
        agent_id: str
        at: datetime

    class TargetBreached(Event):
        priority: str
        target: str
        target_s: int
        breached_at: datetime

    @staticmethod
    def create_id(case_id: str) -> UUID:
        return uuid5(CASE_NAMESPACE, case_id)

    @classmethod
    def open(
        cls,
        case_id: str,
        order_id: str,
        category: str,
        summary: str,
        agent_id: str,
        priority: str,
        targets: Targets,
        at: datetime | None = None,
        review_id: str | None = None,
    ) -> SupportCase:
        if category not in CATEGORIES:
            raise UnknownCategory(f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}")
        return cls(
            case_id=case_id,
            order_id=order_id,
            category=category,
            summary=summary,
            agent_id=agent_id,
            priority=check_priority(priority),
            first_response_target_s=int(targets.first_response.total_seconds()),
            resolution_target_s=int(targets.resolution.total_seconds()),
            at=at or _now(),
            review_id=review_id,
        )

    @event(Opened)
    def __init__(
        self,
        case_id: str,
        order_id: str,
        category: str,
        summary: str,
        agent_id: str,
        priority: str = "normal",
        first_response_target_s: int = 8 * 3600,
        resolution_target_s: int = 72 * 3600,
        at: datetime | None = None,
        review_id: str | None = None,
    ) -> None:
        self.case_id = case_id
        self.order_id = order_id
        self.category = category
        self.summary = summary
        self.opened_by = agent_id
        self.priority = priority
        self.targets = Targets(timedelta(seconds=first_response_target_s), timedelta(seconds=resolution_target_s))
        self.opened_at = at or self.created_on
        self.review_id = review_id
        self.notes: list[dict[str, str]] = []
        self.escalation: dict[str, str] | None = None
        self.resolution: dict[str, str] | None = None
        self.first_response_at: datetime | None = None
        self.resolved_at: datetime | None = None
        # Waiting on the customer: [from, until] (until None while it still waits).
        self.pauses: list[tuple[datetime, datetime | None]] = []
        self.breaches: dict[str, datetime] = {}

    def trigger_event(self, event_class: type[CanMutateAggregate[UUID]], **kwargs: Any) -> None:
        super().trigger_event(event_class, order_id=self.order_id, case_id=self.case_id, **kwargs)

    @property
    def status(self) -> str:
        if self.resolution is not None:
            return "resolved"
        if self.waiting_on_customer:
            return "waiting_on_customer"
        return "escalated" if self.escalation is not None else "open"

    @property
    def waiting_on_customer(self) -> bool:
        return bool(self.pauses) and self.pauses[-1][1] is None

    # Agents' steps.

    def add_note(self, note: str, agent_id: str, at: datetime | None = None) -> None:
        self.check_open("add a note to")
        self._add_note(note=note, agent_id=agent_id, at=at or _now())

    def escalate(self, reason: str, agent_id: str, at: datetime | None = None) -> None:
        self.check_open("escalate")
        if self.escalation is not None:
            raise AlreadyEscalated(f"case {self.case_id} is already escalated")
        self._escalate(reason=reason, agent_id=agent_id, at=at or _now())

    def wait_on_customer(self, note: str, agent_id: str, at: datetime | None = None) -> None:
        self.check_open("wait on the customer for")
        if self.waiting_on_customer:
            raise AlreadyWaiting(f"case {self.case_id} already waits on the customer")
        self._wait_on_customer(note=note, agent_id=agent_id, at=at or _now())

    def customer_replied(self, note: str, agent_id: str, at: datetime | None = None) -> None:
        self.check_open("record a reply on")
        if not self.waiting_on_customer:
            raise NotWaiting(f"case {self.case_id} does not wait on the customer")
        self._customer_replied(note=note, agent_id=agent_id, at=at or _now())

    def resolve(self, outcome: str, agent_id: str, at: datetime | None = None) -> None:
        self.check_open("resolve")
        self._resolve(outcome=outcome, agent_id=agent_id, at=at or _now())

    def check_open(self, action: str) -> None:
        if self.resolution is not None:
            raise CaseClosed(f"cannot {action} case {self.case_id}: it is resolved")

    # Targets.

    def clock(self, kind: str) -> Clock:
        """First response stops at the first note or escalation (or the resolution); resolution at resolving."""
        stopped = self.resolved_at
        if kind == FIRST_RESPONSE and self.first_response_at is not None:
            stopped = self.first_response_at
        return Clock(kind, self.targets.of(kind), self.opened_at, stopped, tuple(self.pauses))

    def unrecorded_breaches(self, now: datetime) -> list[tuple[str, datetime]]:
        """Targets whose clock passed them by `now` and whose breach is not recorded yet."""
        found = []
        for kind in TARGET_KINDS:
            if kind not in self.breaches:
                moment = self.clock(kind).breached_at(now)
                if moment is not None:
                    found.append((kind, moment))
        return found

    def record_breaches(self, now: datetime | None = None) -> list[str]:
        """Record each target breached by `now`, once; allowed on a resolved case too (resolved late)."""
        recorded = []
        for kind, moment in self.unrecorded_breaches(now or _now()):
            target_s = int(self.targets.of(kind).total_seconds())
            self._breached(priority=self.priority, target=kind, target_s=target_s, breached_at=moment)
            recorded.append(kind)
        return recorded

    # State changes.

    def _moment(self, at: datetime | None) -> datetime:
        return at or self.modified_on

    def _responded(self, at: datetime) -> None:
        if self.first_response_at is None:
            self.first_response_at = at

    def _end_pause(self, at: datetime) -> None:
        if self.waiting_on_customer:
            self.pauses[-1] = (self.pauses[-1][0], at)

    @event(NoteAdded)
    def _add_note(self, note: str, agent_id: str, at: datetime | None = None) -> None:
        self.notes.append({"note": note, "agent_id": agent_id})
        self._responded(self._moment(at))

    @event(Escalated)
    def _escalate(self, reason: str, agent_id: str, at: datetime | None = None) -> None:
        self.escalation = {"reason": reason, "agent_id": agent_id}
        self._responded(self._moment(at))

    @event(WaitingOnCustomer)
    def _wait_on_customer(self, note: str, agent_id: str, at: datetime) -> None:
        self.pauses.append((at, None))

    @event(CustomerReplied)
    def _customer_replied(self, note: str, agent_id: str, at: datetime) -> None:
        self._end_pause(at)

    @event(Resolved)
    def _resolve(self, outcome: str, agent_id: str, at: datetime | None = None) -> None:
        self.resolution = {"outcome": outcome, "agent_id": agent_id}
        self.resolved_at = self._moment(at)
        self._end_pause(self.resolved_at)

    @event(TargetBreached)
    def _breached(self, priority: str, target: str, target_s: int, breached_at: datetime) -> None:
        self.breaches[target] = breached_at
