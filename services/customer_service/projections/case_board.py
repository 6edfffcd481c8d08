"""Every support case as the case log says, folded in memory: the queues of cases past or near their targets,
and the breaches still to record.

Each replica keeps its own board and catches up with the log (one read when nothing is new) before it answers, so
any replica serves any request. It folds the log's events into `SupportCase` objects exactly as the repository
would, so the clock rules are the aggregate's own. The whole log is read once per process: fine for the cases of a
support team; a snapshot of the board would bound it if the log grows large.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from uuid import UUID

from services.customer_service.application import SupportApplication, clocks_view
from services.customer_service.domain.case import SupportCase
from services.customer_service.domain.targets import TARGET_KINDS

PAGE = 500
# The order a queue lists cases in: the worst clock first.
SEVERITY = {"breached": 0, "due_soon": 1, "running": 2, "paused": 3, "met": 4}
ATTENTION = ("breached", "due_soon")


class CaseBoard:
    def __init__(self, app: SupportApplication) -> None:
        self.app = app
        self.position = 0
        self.cases: dict[UUID, SupportCase] = {}
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._lock:
            while await asyncio.to_thread(self._fold_next_page):
                pass

    def _fold_next_page(self) -> bool:
        """Fold the next page of the log; True when there may be more."""
        notifications = self.app.recorder.select_notifications(self.position + 1, PAGE)
        for notification in notifications:
            event = self.app.mapper.to_domain_event(notification)
            if isinstance(event, SupportCase.Event):
                case_id = event.originator_id
                folded = event.mutate(self.cases.get(case_id))
                if folded is not None:
                    self.cases[case_id] = folded
            self.position = notification.id
        return len(notifications) == PAGE

    # What the owner of the log records.

    def breaches_to_record(self, now: datetime) -> list[str]:
        """Cases with a target passed and not recorded yet (resolved ones too: a case resolved late)."""
        return [case.case_id for case in self.cases.values() if case.unrecorded_breaches(now)]

    # What agents ask.

    def queue(self, now: datetime, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Open cases, the worst clock first; `state` keeps those with a clock in it (breached, due_soon) or those
        with that case status (open, escalated, waiting_on_customer)."""
        shown = []
        for case in self._open():
            view = case_line(case, now, self.app.near)
            if state is None or state == view["status"] or state in view["clock_states"]:
                shown.append(view)
        shown.sort(key=lambda v: (SEVERITY[v["worst"]], v["due_at"] or "9999", v["opened_at"]))
        return shown[:limit]

    def counts(self, now: datetime) -> dict[str, int]:
        counts = {"open": 0, "breached": 0, "due_soon": 0, "waiting_on_customer": 0}
        for case in self._open():
            states = {case.clock(kind).state(now, self.app.near) for kind in TARGET_KINDS}
            counts["open"] += 1
            counts["breached"] += "breached" in states
            counts["due_soon"] += "due_soon" in states and "breached" not in states
            counts["waiting_on_customer"] += case.waiting_on_customer
        return counts

    def _open(self) -> list[SupportCase]:
        return [case for case in self.cases.values() if case.resolution is None]


def case_line(case: SupportCase, now: datetime, near: float) -> dict[str, Any]:
    clocks = clocks_view(case, now, near)
    states = sorted({clock["state"] for clock in clocks.values()}, key=SEVERITY.__getitem__)
    dues = sorted(clock["due_at"] for clock in clocks.values() if clock["due_at"])
    return {
        "case_id": case.case_id,
        "order_id": case.order_id,
        "category": case.category,
        "priority": case.priority,
        "summary": case.summary,
        "status": case.status,
        "opened_at": case.opened_at.isoformat(),
        "clocks": clocks,
        "clock_states": states,
        "worst": states[0],
        "due_at": dues[0] if dues else None,
    }
