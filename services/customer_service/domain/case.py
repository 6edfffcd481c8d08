"""The SupportCase aggregate: one customer problem with one order, from opening to resolution.

open (category, summary) → notes, escalation → resolved (outcome). A resolved case is closed: no more notes,
no second escalation or resolution. Every step names the agent who took it.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, CanMutateAggregate, event

CASE_NAMESPACE = uuid5(NAMESPACE_URL, "urn:fulfillment:customer_service:case")
CATEGORIES = ("late_delivery", "damaged_item", "wrong_item", "other")


class CaseClosed(RuntimeError):
    """The case is resolved: it takes no more notes, escalations or resolutions."""


class AlreadyEscalated(RuntimeError):
    """Escalating twice would page the second line twice for one problem."""


class UnknownCategory(ValueError):
    """Only the categories support reports on are accepted."""


class SupportCase(Aggregate):
    class Event(Aggregate.Event):
        # The relay publishes keyed by order_id and sees only the event.
        order_id: str
        case_id: str

    class Opened(Event, Aggregate.Created):
        category: str
        summary: str
        agent_id: str

    class NoteAdded(Event):
        note: str
        agent_id: str

    class Escalated(Event):
        reason: str
        agent_id: str

    class Resolved(Event):
        outcome: str
        agent_id: str

    @staticmethod
    def create_id(case_id: str) -> UUID:
        return uuid5(CASE_NAMESPACE, case_id)

    @classmethod
    def open(cls, case_id: str, order_id: str, category: str, summary: str, agent_id: str) -> SupportCase:
        if category not in CATEGORIES:
            raise UnknownCategory(f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}")
        return cls(case_id=case_id, order_id=order_id, category=category, summary=summary, agent_id=agent_id)

    @event(Opened)
    def __init__(self, case_id: str, order_id: str, category: str, summary: str, agent_id: str) -> None:
        self.case_id = case_id
        self.order_id = order_id
        self.category = category
        self.summary = summary
        self.opened_by = agent_id
        self.notes: list[dict[str, str]] = []
        self.escalation: dict[str, str] | None = None
        self.resolution: dict[str, str] | None = None

    def trigger_event(self, event_class: type[CanMutateAggregate[UUID]], **kwargs: Any) -> None:
        super().trigger_event(event_class, order_id=self.order_id, case_id=self.case_id, **kwargs)

    @property
    def status(self) -> str:
        if self.resolution is not None:
            return "resolved"
        return "escalated" if self.escalation is not None else "open"

    def add_note(self, note: str, agent_id: str) -> None:
        self.check_open("add a note to")
        self._add_note(note=note, agent_id=agent_id)

    def escalate(self, reason: str, agent_id: str) -> None:
        self.check_open("escalate")
        if self.escalation is not None:
            raise AlreadyEscalated(f"case {self.case_id} is already escalated")
        self._escalate(reason=reason, agent_id=agent_id)

    def resolve(self, outcome: str, agent_id: str) -> None:
        self.check_open("resolve")
        self._resolve(outcome=outcome, agent_id=agent_id)

    def check_open(self, action: str) -> None:
        if self.resolution is not None:
            raise CaseClosed(f"cannot {action} case {self.case_id}: it is resolved")

    @event(NoteAdded)
    def _add_note(self, note: str, agent_id: str) -> None:
        self.notes.append({"note": note, "agent_id": agent_id})

    @event(Escalated)
    def _escalate(self, reason: str, agent_id: str) -> None:
        self.escalation = {"reason": reason, "agent_id": agent_id}

    @event(Resolved)
    def _resolve(self, outcome: str, agent_id: str) -> None:
        self.resolution = {"outcome": outcome, "agent_id": agent_id}
