"""The reservation policy on its own: which warehouse a line is allocated from."""

from __future__ import annotations

from services.inventory.domain.allocation import Allocation, Line, merge_lines, plan_reservation


def test_prefers_one_warehouse_that_can_allocate_every_line() -> None:
    plan = plan_reservation(
        [Line("A", 2), Line("B", 1)],
        {"A": {"LIS-1": 9, "MAD-1": 2}, "B": {"LIS-1": 0, "MAD-1": 1}},
    )

    assert plan.allocations == (Allocation("A", "MAD-1", 2), Allocation("B", "MAD-1", 1))
    assert plan.backordered == ()


def test_without_such_a_warehouse_each_line_goes_to_the_one_with_most_available() -> None:
    plan = plan_reservation([Line("A", 2), Line("B", 1)], {"A": {"LIS-1": 3, "MAD-1": 5}, "B": {"OPO-1": 1}})

    assert plan.allocations == (Allocation("A", "MAD-1", 2), Allocation("B", "OPO-1", 1))


def test_a_line_no_warehouse_holds_whole_is_split_most_available_first() -> None:
    plan = plan_reservation([Line("A", 7)], {"A": {"LIS-1": 3, "MAD-1": 5, "OPO-1": 1}})

    assert plan.allocations == (Allocation("A", "MAD-1", 5), Allocation("A", "LIS-1", 2))


def test_a_line_is_never_partly_allocated() -> None:
    plan = plan_reservation([Line("A", 9), Line("B", 1)], {"A": {"LIS-1": 3, "MAD-1": 5}, "B": {"LIS-1": 1}})

    assert plan.allocations == (Allocation("B", "LIS-1", 1),)
    assert plan.backordered == (Line("A", 9),)


def test_lines_of_the_same_sku_are_reserved_as_one() -> None:
    assert merge_lines([Line("A", 1), Line("B", 2), Line("A", 3)]) == [Line("A", 4), Line("B", 2)]
