"""The fault harness's DLQ invariant: what counts as one copy, what as a duplicate or a loss."""

from benchmarks.chaos.dead_letters import DeadLetter
from benchmarks.chaos.invariants import dead_letters_exact
from benchmarks.chaos.ledger import Ledger
from benchmarks.chaos.snapshot import Final
from benchmarks.chaos.wire import Record

POISON = Record("warehouse.events", b"MUG", b'{"data": {"quantity": 0}}')


def letter(offset: str) -> DeadLetter:
    return DeadLetter(
        POISON.topic, POISON.key, POISON.value, "data.quantity", "validation", (POISON.topic, "4", offset)
    )


def verdict_for(*letters: DeadLetter) -> tuple[list[str], str]:
    verdict = dead_letters_exact(Final([], {}, list(letters), []), Ledger(malformed=[POISON]))
    return verdict.failures, verdict.checked


def test_a_copy_repeated_by_a_crash_names_the_same_offset_and_counts_once() -> None:
    failures, checked = verdict_for(letter("62"), letter("62"))
    assert failures == []
    assert "1 copy(ies) repeated by a crash" in checked


def test_a_second_copy_from_elsewhere_is_a_duplicate_and_none_is_a_loss() -> None:
    assert verdict_for(letter("62"), letter("63"))[0] == [
        "warehouse.events b'MUG': 2 DLQ copies of one malformed record"
    ]
    assert verdict_for()[0] == ["warehouse.events b'MUG': 0 DLQ copies of one malformed record"]
