"""Settings of the customer_service service, read from the environment."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings

# Only for the dev profile (local runs, tests): a real deployment sets its own (a Secret in Kubernetes).
DEV_LOOKUP_KEY = "dev-only-personal-data-lookup-key"


class CustomerServiceSettings(ServiceSettings):
    # The histories are read models: waiting a little gathers an order's events into one write instead of several.
    batch_linger_ms: int = Field(200, ge=0, le=5_000)
    http_port: int = Field(
        8004, ge=1, le=65535, validation_alias=AliasChoices("CUSTOMER_SERVICE_HTTP_PORT", "http_port")
    )
    # The secret of the keyed hash that email lookups are stored under (shared/personal_data/blind_index.py).
    # Changing it orphans every stored lookup: rebuild the projections after a change.
    personal_data_lookup_key: str = Field(DEV_LOOKUP_KEY, min_length=16, repr=False)

    def lookup_key_problem(self) -> str | None:
        if self.auth_profile != "dev" and self.personal_data_lookup_key == DEV_LOOKUP_KEY:
            return (
                f"PERSONAL_DATA_LOOKUP_KEY: the built-in dev key is refused outside the dev profile "
                f"(AUTH_PROFILE={self.auth_profile}); set a secret of your own"
            )
        return None
