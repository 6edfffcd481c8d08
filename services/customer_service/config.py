"""Settings of the customer_service service, read from the environment."""

from __future__ import annotations

from datetime import timedelta

from pydantic import AliasChoices, BaseModel, Field, field_validator

from services.customer_service.domain.targets import DEFAULT_TARGETS, PRIORITIES, Targets
from shared.settings import ServiceSettings

# Only for the dev profile (local runs, tests): a real deployment sets its own (a Secret in Kubernetes).
DEV_LOOKUP_KEY = "dev-only-personal-data-lookup-key"


class TargetSetting(BaseModel):
    """One priority's targets, in seconds (SUPPORT_TARGETS, JSON, per priority; unnamed ones keep the default)."""

    first_response_s: int = Field(gt=0, le=365 * 86400)
    resolution_s: int = Field(gt=0, le=365 * 86400)


class CustomerServiceSettings(ServiceSettings):
    # The histories are read models: a batch at most every 200 ms per log gathers an order's events into fewer
    # writes. (1 s measured 21 -> 16 store round trips per order at 5 orders/s, but CI then showed histories
    # lagging far behind — not understood in time — so it stays at the value CI has passed with.)
    batch_linger_ms: int = Field(200, ge=0, le=5_000)
    http_port: int = Field(
        8004, ge=1, le=65535, validation_alias=AliasChoices("CUSTOMER_SERVICE_HTTP_PORT", "http_port")
    )
    # e.g. {"urgent": {"first_response_s": 1800, "resolution_s": 14400}}
    support_targets: dict[str, TargetSetting] = Field(default_factory=dict)
    # A clock with less than this share of its target left counts as "due soon" (the console's near-target queue).
    support_targets_near: float = Field(0.25, gt=0, lt=1)
    # How often the owner of the case log looks for targets passed (the breach lands at most this late).
    support_targets_check_s: float = Field(30.0, gt=0, le=3600)
    # An order worth this much or more (in its own currency) makes a review's complaint one priority higher.
    complaint_high_value: float = Field(100.0, ge=0)
    # The secret of the keyed hash that email lookups are stored under (shared/personal_data/blind_index.py).
    # Changing it orphans every stored lookup: rebuild the projections after a change.
    personal_data_lookup_key: str = Field(DEV_LOOKUP_KEY, min_length=16, repr=False)

    @field_validator("support_targets")
    @classmethod
    def _known_priorities(cls, value: dict[str, TargetSetting]) -> dict[str, TargetSetting]:
        unknown = sorted(set(value) - set(PRIORITIES))
        if unknown:
            raise ValueError(f"unknown priorities {unknown}; expected some of {', '.join(PRIORITIES)}")
        return value

    def targets(self) -> dict[str, Targets]:
        configured = {
            priority: Targets(timedelta(seconds=t.first_response_s), timedelta(seconds=t.resolution_s))
            for priority, t in self.support_targets.items()
        }
        return {**DEFAULT_TARGETS, **configured}

    def lookup_key_problem(self) -> str | None:
        if self.auth_profile != "dev" and self.personal_data_lookup_key == DEV_LOOKUP_KEY:
            return (
                f"PERSONAL_DATA_LOOKUP_KEY: the built-in dev key is refused outside the dev profile "
                f"(AUTH_PROFILE={self.auth_profile}); set a secret of your own"
            )
        return None
