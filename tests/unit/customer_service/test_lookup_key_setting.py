"""The keyed hash of email lookups: the built-in dev key is refused outside the dev profile."""

from __future__ import annotations

from services.customer_service.config import CustomerServiceSettings


def test_the_dev_lookup_key_is_refused_outside_the_dev_profile_naming_the_setting() -> None:
    problem = CustomerServiceSettings(auth_profile="prod").lookup_key_problem()

    assert problem is not None and problem.startswith("PERSONAL_DATA_LOOKUP_KEY:") and "AUTH_PROFILE=prod" in problem
    assert CustomerServiceSettings(auth_profile="dev").lookup_key_problem() is None
    assert CustomerServiceSettings(auth_profile="prod", personal_data_lookup_key="x" * 32).lookup_key_problem() is None
