"""`fulfillment projections rebuild`: starts a rebuild and follows its progress."""

from __future__ import annotations

from tests.unit.cli.conftest import Cli
from tests.unit.cli.stub import Stub


def test_a_rebuild_is_followed_until_it_completes(cli: Cli, stub: Stub) -> None:
    stub.rebuild_states.extend(
        [
            {"status": "running", "processed": 10, "total": 30, "events_per_second": 100.0},
            {"status": "running", "processed": 20, "total": 30, "events_per_second": 120.0},
            {"status": "completed", "processed": 30, "total": 30, "events_per_second": 110.0},
        ]
    )

    result = cli("projections", "rebuild", "--poll-interval", "0.01")

    assert result.exit_code == 0, result.output
    assert "Rebuild RB-1 completed: 30 events" in result.stdout
    polls = [r for r in stub.requests if r[1] == "/projections/rebuild/RB-1"]
    assert len(polls) == 3


def test_a_failed_rebuild_exits_with_1(cli: Cli, stub: Stub) -> None:
    stub.rebuild_states.append({"status": "failed", "processed": 3, "total": 30, "error": "store unreachable"})

    result = cli("projections", "rebuild", "--poll-interval", "0.01")

    assert result.exit_code == 1
    assert "rebuild RB-1 failed: store unreachable" in result.stderr
