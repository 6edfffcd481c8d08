"""Settings of the reporting service, read from the environment."""

from __future__ import annotations

from datetime import date

from pydantic import AliasChoices, Field

from services.reporting.digests.mail import Mailer
from services.reporting.domain.rules import ShipByRule
from services.reporting.domain.stock import ReplenishmentPolicy
from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    http_port: int = Field(8005, ge=1, le=65535, validation_alias=AliasChoices("REPORTING_HTTP_PORT", "http_port"))
    # A read model: one batch a second per log gathers an order's events into one write (order benchmark at
    # 5 orders/s: store round trips per order 18 -> 10); and a batch costs a few store
    # writes whatever its size, so a backlog is folded in larger batches than the services' default 500.
    batch_linger_ms: int = Field(1_000, ge=0, le=5_000)
    max_batch: int = Field(2_000, ge=1, le=10_000)
    # The ship-by rule (README, "KPIs for the manager"): calendar days after the placement day per shipping
    # method (JSON), for other methods, and the UTC hour from which an order counts from the next day.
    ship_by_days: dict[str, int] = Field(default_factory=lambda: {"standard": 1, "express": 0})
    ship_by_default_days: int = Field(1, ge=0, le=60)
    ship_by_cutoff_hour: int = Field(14, ge=0, le=24)
    # Replenishment: demand window, lead time per sku (JSON) and default, service level, days to cover.
    replenishment_window_days: int = Field(28, ge=2, le=365)
    replenishment_lead_times: dict[str, float] = Field(default_factory=dict)
    replenishment_default_lead_time_days: float = Field(7.0, gt=0, le=365)
    replenishment_service_level: float = Field(0.95, gt=0.5, lt=1.0)
    replenishment_cover_days: int = Field(14, ge=1, le=365)
    # Digests: produced on a schedule (the UTC hour each day; weekly on Mondays), on demand by HTTP, and mailed
    # when SMTP_HOST is set and the period had data.
    digest_schedule: bool = True
    digest_hour_utc: int = Field(1, ge=0, le=23)
    digest_check_every_s: float = Field(60.0, gt=0)
    # Produce every daily and weekly digest from this day on (backfill); unset: yesterday's and last week's.
    digest_since: date | None = None
    # An open case older than this is an exception in the digest.
    support_case_target_hours: float = Field(24.0, gt=0)
    smtp_host: str | None = None
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_from: str = "reports@fulfillment.local"
    smtp_to: list[str] = Field(default_factory=list)

    def mailer(self) -> Mailer | None:
        if not self.smtp_host or not self.smtp_to:
            return None
        return Mailer(self.smtp_host, self.smtp_port, self.smtp_from, list(self.smtp_to))

    def ship_by_rule(self) -> ShipByRule:
        return ShipByRule(dict(self.ship_by_days), self.ship_by_default_days, self.ship_by_cutoff_hour)

    def replenishment_policy(self) -> ReplenishmentPolicy:
        return ReplenishmentPolicy(
            window_days=self.replenishment_window_days,
            default_lead_time_days=self.replenishment_default_lead_time_days,
            lead_times=dict(self.replenishment_lead_times),
            service_level=self.replenishment_service_level,
            cover_days=self.replenishment_cover_days,
        )
