"""`fulfillment order show|search` against a stub customer_service."""

from __future__ import annotations

from tests.unit.cli.conftest import Cli
from tests.unit.cli.stub import Stub


def test_an_order_is_shown_with_its_timeline(cli: Cli) -> None:
    result = cli("order", "show", "SO-1")

    assert result.exit_code == 0, result.output
    assert "status shipped" in result.stdout and "ana@example.com" in result.stdout
    assert "2026-11-28T10:15:00.120Z" in result.stdout
    assert result.stdout.index("Order placed") < result.stdout.index("Order received: 2")


def test_an_unknown_order_is_one_line_and_exit_code_1(cli: Cli) -> None:
    result = cli("order", "show", "SO-404")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "error: customer_service refused GET /orders/SO-404/history (404): unknown order 'SO-404'"
    )


def test_search_sends_only_the_given_filters(cli: Cli, stub: Stub) -> None:
    result = cli(
        "order", "search", "--email", "ana@example.com", "--from", "2026-11-01", "--status", "shipped",
        "--customer", "C-881", "--tracking", "TN1", "--to", "2026-11-30",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert stub.last("/orders")[0] == {
        "email": "ana@example.com", "placed_from": "2026-11-01", "placed_to": "2026-11-30", "status": "shipped",
        "customer_id": "C-881", "tracking_number": "TN1", "page": "1",
    }  # fmt: skip
    assert "SO-1" in result.stdout and "ana@example.com" in result.stdout and "39.80" in result.stdout


def test_search_rejects_a_date_that_is_not_one(cli: Cli, stub: Stub) -> None:
    result = cli("order", "search", "--to", "yesterday")

    assert result.exit_code == 2
    assert stub.requests == []
