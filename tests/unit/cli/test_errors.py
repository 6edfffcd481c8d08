"""A service that does not answer: one line that names the variable to fix."""

from __future__ import annotations

import pytest

from cli.client import CUSTOMER_SERVICE, INVENTORY, ORDERS, SHIPPING
from tests.stack import free_port
from tests.unit.cli.conftest import Cli


def test_an_unreachable_service_names_its_url_variable(cli: Cli) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"

    result = cli("shipments", "late", SHIPPING_URL=nowhere)

    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: shipping does not answer at {nowhere} (ConnectError); check SHIPPING_URL"


def test_urls_come_from_the_environment_with_local_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUSTOMER_SERVICE_URL", raising=False)
    assert CUSTOMER_SERVICE.base_url == "http://127.0.0.1:8004"
    assert [s.default_url[-4:] for s in (ORDERS, INVENTORY, SHIPPING)] == ["8001", "8002", "8003"]

    monkeypatch.setenv("CUSTOMER_SERVICE_URL", "http://support.internal:9000/")
    assert CUSTOMER_SERVICE.base_url == "http://support.internal:9000"
