"""benchmarks/order_flow.py's comparisons: which runs each one starts, back to back, before the side-by-side table."""

from __future__ import annotations

import sys

import pytest

from benchmarks import order_flow


def runs(monkeypatch: pytest.MonkeyPatch, *argv: str) -> list[order_flow.Configuration]:
    monkeypatch.setattr(sys, "argv", ["order_flow", *argv])
    return order_flow.configurations(order_flow.arguments())


def test_compare_protection_runs_the_same_services_protected_then_with_both_switches_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    protected, unprotected = runs(monkeypatch, "--quick", "--compare-protection", "--replicas", "2")
    assert (protected.label, protected.replicas, protected.env) == ("protected", 2, ())
    assert (unprotected.label, unprotected.replicas) == ("unprotected", 2)
    assert dict(unprotected.env) == {"UNSAFE_DISABLE_HTTP_AUTH": "true", "UNSAFE_DISABLE_PERSONAL_DATA_SEALING": "true"}
    # Kafka's SASL is not among what is switched off.
    assert not any(name.startswith("KAFKA_") for name, _ in unprotected.env)


def test_compare_replicas_is_unchanged_and_one_comparison_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [(c.label, c.replicas, c.env) for c in runs(monkeypatch, "--compare-replicas")] == [
        ("1 replica", 1, ()),
        ("2 replicas", 2, ()),
    ]
    assert [c.label for c in runs(monkeypatch)] == ["1 replica"]
    with pytest.raises(SystemExit):
        runs(monkeypatch, "--compare-replicas", "--compare-protection")
