"""`fulfillment shipments late|exceptions` against a stub shipping service."""

from __future__ import annotations

from tests.unit.cli.conftest import Cli
from tests.unit.cli.stub import Stub


def test_late_shipments_are_listed_in_a_table(cli: Cli, stub: Stub) -> None:
    result = cli("shipments", "late")

    assert result.exit_code == 0, result.output
    assert "Late shipments" in result.stdout
    assert "SO-1-LIS-1-1" in result.stdout and "2026-12-02" in result.stdout and "TN0001" in result.stdout
    assert "1 shown of 1" in result.stdout
    assert stub.last("/shipments/late")[0] == {"page": "1", "page_size": "50"}


def test_paging_options_are_sent(cli: Cli, stub: Stub) -> None:
    assert cli("shipments", "late", "--page", "3", "--page-size", "10").exit_code == 0

    assert stub.last("/shipments/late")[0] == {"page": "3", "page_size": "10"}


def test_exceptions_show_the_carrier_detail(cli: Cli) -> None:
    result = cli("shipments", "exceptions")

    assert result.exit_code == 0, result.output
    assert "exception" in result.stdout and "address not found" in result.stdout
