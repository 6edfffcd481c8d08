"""Producing a digest: the KPI queries for the period and the one before, the exceptions as of now, stored once,
mailed (when SMTP is configured and the period had data) by whoever stored it."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from services.reporting.digests.mail import Mailer
from services.reporting.domain.digest import DigestPeriod, exceptions, has_data, headlines
from services.reporting.projections.queries import FAMILIES, KpiQueries
from services.reporting.projections.reports import ReportStore

log = logging.getLogger(__name__)


class Digests:
    def __init__(
        self, queries: KpiQueries, reports: ReportStore, mailer: Mailer | None, case_target_hours: float
    ) -> None:
        self.queries = queries
        self.reports = reports
        self.mailer = mailer
        self.case_target_hours = case_target_hours

    async def content(self, period: DigestPeriod, report_id: str | None = None) -> dict[str, Any]:
        now = datetime.now(UTC)
        previous_start, previous_end = period.previous
        current: dict[str, dict[str, Any]] = {}
        before: dict[str, dict[str, Any]] = {}
        for family in FAMILIES:
            current[family] = (await self.queries.kpis(family, period.start, period.end))["total"]
            before[family] = (await self.queries.kpis(family, previous_start, previous_end))["total"]
        series = await self.queries.kpis("fulfillment", period.chart_start, period.end, by="day")
        replenishment = await self.queries.replenishment(today=now.date())
        attention = await self.queries.attention()
        return {
            "report_id": report_id or period.report_id,
            "kind": period.kind,
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
            "previous_from": previous_start.isoformat(),
            "previous_to": previous_end.isoformat(),
            "generated_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "has_data": has_data(current),
            "ship_by_rule": series.get("ship_by_rule"),
            "headlines": headlines(current, before),
            "inventory": current["inventory"]["items"],
            "exceptions": exceptions(
                attention, current["inventory"]["items"], replenishment["order_now"], now, self.case_target_hours
            ),
            "series": [
                {k: p[k] for k in ("period", "orders", "on_time_ship_rate", "on_time_delivery_rate")}
                for p in series["periods"]
            ],
        }

    async def produce(self, period: DigestPeriod) -> bool:
        """The scheduled digest of `period`, unless it exists; True if this process produced it."""
        if await self.reports.exists(period.report_id):
            return False
        content = await self.content(period)
        if not await self.reports.insert(content):
            return False
        log.info("digest %s produced (data: %s)", content["report_id"], content["has_data"])
        await self._mail(content)
        return True

    async def on_demand(self, period: DigestPeriod) -> dict[str, Any]:
        """A digest asked for now: stored under its own id, so it never takes the place of the scheduled one."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        content = await self.content(period, report_id=f"{period.report_id}-on-demand-{stamp}")
        await self.reports.insert(content)
        await self._mail(content)
        return content

    async def _mail(self, content: dict[str, Any]) -> None:
        if self.mailer is None or not content["has_data"]:
            return  # only if there is data
        try:
            await self.mailer.send(content)
        except OSError as error:
            # Stored all the same (retrievable over HTTP); the mail is not retried.
            log.warning("digest %s not mailed: %s", content["report_id"], error)
            return
        await self.reports.mark_mailed(content["report_id"])


def period_of(kind: str, day: date) -> DigestPeriod:
    return DigestPeriod.daily(day) if kind == "daily" else DigestPeriod.weekly(day)
