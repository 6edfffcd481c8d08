"""`fulfillment case open|note|resolve` against a stub customer_service."""

from __future__ import annotations

from tests.unit.cli.conftest import Cli
from tests.unit.cli.stub import Stub


def test_opening_a_case_posts_it_and_prints_its_id(cli: Cli, stub: Stub) -> None:
    result = cli("case", "open", "SO-1", "--category", "late_delivery", "--summary", "Parcel not here")

    assert result.exit_code == 0, result.output
    assert "Opened case CASE-7 on order SO-1" in result.stdout
    assert stub.last("/orders/SO-1/cases")[1] == {
        "category": "late_delivery", "summary": "Parcel not here",
    }  # fmt: skip


def test_an_unknown_category_is_refused_before_calling_the_service(cli: Cli, stub: Stub) -> None:
    result = cli("case", "open", "SO-1", "--category", "angry", "--summary", "x")

    assert result.exit_code == 2
    assert stub.requests == []


def test_a_validation_error_names_the_field(cli: Cli) -> None:
    result = cli("case", "open", "SO-1", "--category", "other", "--summary", "")

    assert result.exit_code == 1
    assert "(422): summary: String should have at least 1 character" in result.stderr


def test_notes_and_resolutions_are_posted(cli: Cli, stub: Stub) -> None:
    assert cli("case", "note", "CASE-7", "--text", "Called the carrier").exit_code == 0
    assert stub.last("/cases/CASE-7/notes")[1] == {"note": "Called the carrier"}

    resolved = cli("case", "resolve", "CASE-7", "--outcome", "Refunded shipping")
    assert resolved.exit_code == 0 and "Resolved case CASE-7" in resolved.stdout
    assert stub.last("/cases/CASE-7/resolve")[1] == {"outcome": "Refunded shipping"}


def test_a_refusal_is_shown_as_one_line(cli: Cli) -> None:
    result = cli("case", "note", "CASE-CLOSED", "--text", "late note")

    assert result.exit_code == 1
    assert result.stderr.strip().endswith("(409): case 'CASE-CLOSED' is resolved")
