"""The properties a run must end with, each checked from the outside and printed with its evidence.

Counters for the last line, per violating item:
- lost: an order orders or the history does not know, one that never ended, stock that came in but is not on
  hand, units still allocated to nobody, a cancelled order still holding stock, a return never refunded, a
  valid message dead-lettered, a malformed message whose DLQ copy is missing;
- duplicated: an effect applied more than once — more units shipped than ordered, an order's lines changed by
  a second OrderPlaced, on hand above what came in, a return refunded twice, a DLQ copy too many, a timeline
  entry twice;
- oversold: a stock level seen below zero (available, on hand) or allocated above on hand, during the run or
  at its end; a sku x warehouse that shipped more units than ever came in (phantom stock was sold).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from benchmarks.chaos.ledger import Cell, Ledger
from benchmarks.chaos.scenario import PRICES
from benchmarks.chaos.snapshot import Final, OrderFinal
from benchmarks.chaos.stock_watch import StockWatch

SHOWN = 8  # examples printed per failed invariant


@dataclass
class Verdict:
    name: str
    checked: str
    failures: list[str] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    oversold: int = 0

    @property
    def holds(self) -> bool:
        return not self.failures

    def lines(self) -> list[str]:
        head = f"{'PASS' if self.holds else 'FAIL'} {self.name}: {self.checked}"
        if self.holds:
            return [head]
        more = [f"       ... and {len(self.failures) - SHOWN} more"] if len(self.failures) > SHOWN else []
        return [f"{head} — {len(self.failures)} violation(s)"] + [f"       {f}" for f in self.failures[:SHOWN]] + more


def check_all(final: Final, ledger: Ledger, watch: StockWatch) -> list[Verdict]:
    return [
        no_order_lost(final),
        every_order_ended(final),
        one_order_per_order_id(final),
        shipped_as_ordered(final, ledger),
        stock_balances(final, ledger),
        nothing_left_allocated(final),
        never_oversold(final, watch),
        cancelled_released_stock(final),
        returns_refunded_once(final),
        history_agrees_with_orders(final),
        dead_letters_exact(final, ledger),
        malformed_changed_nothing(final),
    ]


def known(final: Final) -> list[OrderFinal]:
    return [order for order in final.orders if order.order is not None]


def no_order_lost(final: Final) -> Verdict:
    verdict = Verdict("no order lost", f"{len(final.orders)} orders placed, each known to orders and to the history")
    for order in final.orders:
        if order.unreadable:
            # Not provably kept: what cannot be read back cannot be shown to be there.
            verdict.failures.append(f"{order.play.order_id}: {', '.join(order.unreadable)} never answered about it")
            verdict.lost += 1
            continue
        missing = [name for name, body in (("orders", order.order), ("history", order.history)) if body is None]
        if missing:
            verdict.failures.append(f"{order.play.order_id}: unknown to {' and '.join(missing)}")
            verdict.lost += 1
    return verdict


def every_order_ended(final: Final) -> Verdict:
    verdict = Verdict("every order ended", "each order in the status its story leads to")
    for order in known(final):
        expected = order.play.rightful_endings()
        if order.status not in expected:
            wanted = " or ".join(sorted(expected))
            verdict.failures.append(f"{order.play.order_id}: {order.status}, expected {wanted}")
            verdict.lost += 1
    return verdict


def one_order_per_order_id(final: Final) -> Verdict:
    """A second OrderPlaced (same bytes, or same id under a new event id with other lines) changed nothing."""
    verdict = Verdict("one order per order_id", "lines in orders and in the history are those first placed")
    for order in known(final):
        placed = order.play.spec.quantities
        assert order.order is not None
        in_orders = {line["sku"]: int(line["ordered"]) for line in order.order.get("lines", [])}
        in_history = {line["sku"]: int(line["quantity"]) for line in (order.history or {}).get("lines", [])}
        # The history knows a rejected order by id and reason only (its rejection event carries no lines).
        shown_in_history = order.history is not None and order.status != "rejected"
        for where, lines in (("orders", in_orders), ("history", in_history if shown_in_history else placed)):
            if lines != placed:
                verdict.failures.append(f"{order.play.order_id}: {where} shows {lines}, placed {placed}")
                verdict.duplicated += 1
    return verdict


def shipped_as_ordered(final: Final, ledger: Ledger) -> Verdict:
    verdict = Verdict("shipped = ordered", "per order and sku, units that left a warehouse (never more, ever)")
    for order in known(final):
        left: Counter[str] = Counter()
        for (sku, _), units in order.units_left_warehouse().items():
            left[sku] += units
        ordered = order.play.spec.quantities
        expected = ordered if order.status not in ("cancelled", "rejected") else {}
        for sku in sorted(set(left) | set(ordered)):
            if left[sku] != expected.get(sku, 0):
                verdict.failures.append(
                    f"{order.play.order_id} ({order.status}) {sku}: {left[sku]} shipped, {ordered.get(sku, 0)} ordered"
                )
                if left[sku] > expected.get(sku, 0):
                    verdict.duplicated += 1
                else:
                    verdict.lost += 1
    for sighting in ledger.overshipped_in_flight:
        verdict.failures.append(f"during the run: {sighting}")
        verdict.duplicated += 1
    return verdict


def stock_balances(final: Final, ledger: Ledger) -> Verdict:
    rule = "per sku x warehouse: on hand = received + adjusted + resellable returns - shipped"
    verdict = Verdict("stock balances", rule)
    expected, levels, dispatched = final.expected_on_hand(ledger), final.on_hand(), final.dispatched()
    unread = {sku for sku, view in final.stock.items() if view is None}
    for sku in sorted(unread & {sku for sku, _ in expected}):
        verdict.failures.append(f"{sku}: GET /stock/{sku} gave no stock (unknown sku, or inventory never answered)")
        verdict.lost += 1
    for cell in sorted(cell for cell in set(expected) | set(levels) if cell[0] not in unread):
        on_hand = int(levels.get(cell, {}).get("on_hand", 0))
        if on_hand == expected[cell]:
            continue
        verdict.failures.append(
            f"{_cell(cell)}: on hand {on_hand}, expected {expected[cell]} (received {ledger.received[cell]}, "
            f"adjusted {ledger.adjusted[cell]:+d}, resellable returns {ledger.restocked[cell]}, "
            f"shipped {dispatched[cell]})"
        )
        if on_hand > expected[cell]:
            verdict.duplicated += 1
        else:
            verdict.lost += 1
        if expected[cell] < 0:
            verdict.failures.append(f"{_cell(cell)}: {-expected[cell]} more units shipped than ever came in")
            verdict.oversold += 1
    return verdict


def nothing_left_allocated(final: Final) -> Verdict:
    verdict = Verdict("allocated = 0 at the end", "every order ended, so nothing is held for one")
    for cell, level in sorted(final.on_hand().items()):
        if level["allocated"]:
            verdict.failures.append(f"{_cell(cell)}: {level['allocated']} allocated")
            verdict.lost += 1
    return verdict


def never_oversold(final: Final, watch: StockWatch) -> Verdict:
    verdict = Verdict("never oversold", f"{watch.samples} stock samples during the run and the final levels")
    sightings = dict(watch.oversold)
    for cell, level in final.on_hand().items():
        if level["available"] < 0 or level["on_hand"] < 0 or level["allocated"] > level["on_hand"]:
            sightings.setdefault(cell, f"at the end: on_hand={level['on_hand']} allocated={level['allocated']}")
    for cell, seen in sorted(sightings.items()):
        verdict.failures.append(f"{_cell(cell)}: {seen}")
        verdict.oversold += 1
    return verdict


def cancelled_released_stock(final: Final) -> Verdict:
    cancelled = [order for order in known(final) if order.status in ("cancelled", "rejected")]
    verdict = Verdict("cancelled orders released their stock", f"{len(cancelled)} cancelled or rejected orders")
    for order in cancelled:
        reservation = order.reservation
        if reservation is not None and not reservation.get("released") and order.status == "cancelled":
            verdict.failures.append(f"{order.play.order_id}: reservation not released: {reservation}")
            verdict.lost += 1
        if order.status == "rejected" and reservation is not None and reservation.get("allocations"):
            verdict.failures.append(f"{order.play.order_id}: rejected, yet stock allocated: {reservation}")
            verdict.lost += 1
    return verdict


def returns_refunded_once(final: Final) -> Verdict:
    returning = [order for order in known(final) if order.play.returned is not None or order.play.return_declined]
    verdict = Verdict("each return refunded exactly once", f"{len(returning)} returns")
    for order in returning:
        verdict.failures += _refund_problems(order, verdict)
    return verdict


def _refund_problems(order: OrderFinal, verdict: Verdict) -> list[str]:
    play, body = order.play, order.order or {}
    if play.return_declined:
        verdict.lost += 1
        return [f"{play.order_id}: a return of delivered units was declined: {play.return_declined}"]
    assert play.returned is not None
    expected = play.returned.refund(PRICES)
    authorizations = body.get("returns", [])
    refunds = body.get("refunds", [])
    problems = []
    if len(authorizations) != 1:
        problems.append(f"{play.order_id}: {len(authorizations)} return authorizations for one ReturnRequested")
    if len(refunds) != 1:
        problems.append(f"{play.order_id}: refunded {len(refunds)} times: {refunds}")
    refunded = sum((Decimal(refund["amount"]) for refund in refunds), Decimal("0"))
    if refunded != expected:
        problems.append(f"{play.order_id}: refunded {refunded}, expected {expected} for {play.returned.received}")
    history_refunds = (order.history or {}).get("refunds", [])
    if order.history is not None and len(history_refunds) != len(refunds):
        problems.append(f"{play.order_id}: the history shows {len(history_refunds)} refunds, orders {len(refunds)}")
    if refunded > expected or len(refunds) > 1 or len(history_refunds) > 1:
        verdict.duplicated += 1
    elif problems:
        verdict.lost += 1
    return problems


def history_agrees_with_orders(final: Final) -> Verdict:
    verdict = Verdict("history = orders", "same status; timeline sorted by `at`; no timeline entry twice")
    for order in known(final):
        if order.history is None:
            continue  # reported as lost
        if not order.history_agrees():
            assert order.order is not None
            verdict.failures.append(
                f"{order.play.order_id}: history says {order.history['status']}, orders {order.order['status']}"
            )
        timeline = order.history.get("timeline", [])
        moments = [_moment(entry["at"]) for entry in timeline]
        if moments != sorted(moments):
            verdict.failures.append(f"{order.play.order_id}: timeline not sorted by `at`")
        twice = _repeated((entry.get("source"), entry.get("type"), entry.get("event_id")) for entry in timeline)
        if twice:
            verdict.failures.append(f"{order.play.order_id}: timeline entries twice: {twice[:3]}")
            verdict.duplicated += 1
    return verdict


def dead_letters_exact(final: Final, ledger: Ledger) -> Verdict:
    """Each malformed record in its DLQ exactly once (repeats of one copy, see below, count once); any other
    dead letter must be a warehouse scan that raced the order's cancellation (its shipment ended cancelled) —
    otherwise a valid message was dropped."""
    sent, found = len(ledger.malformed), len(final.dead_letters)
    verdict = Verdict("DLQ = malformed sent", f"{sent} malformed sent, {found} records in the DLQs")
    # The DLQ is at least once across a crash: a service killed after copying a record and before the commit
    # that stores its position copies it again when the record is read again. Such a repeat names the same
    # original (topic, partition, offset), so a reader drops it; it counts once here and is reported. A second
    # copy from anywhere else (another offset) is a duplicate.
    distinct = {(letter.topic, letter.key, letter.value, letter.original): letter for letter in final.dead_letters}
    repeated = len(final.dead_letters) - len(distinct)
    copies = Counter((topic, key, value) for topic, key, value, _ in distinct)
    for record in ledger.malformed:
        count = copies.pop((record.topic, record.key, record.value), 0)
        if count != 1:
            verdict.failures.append(f"{record.topic} {record.key!r}: {count} DLQ copies of one malformed record")
            verdict.lost += count == 0
            verdict.duplicated += count > 1
    cancelled = _cancelled_shipments(final)
    raced = 0
    for letter in distinct.values():
        if (letter.topic, letter.key, letter.value) not in copies:
            continue
        if letter.value in ledger.scans and ledger.scans[letter.value] in cancelled:
            raced += 1
            continue
        verdict.failures.append(f"{letter.topic} {letter.key!r} dead-lettered: {letter.error} ({letter.error_type})")
        verdict.lost += 1
    verdict.checked += f"; {raced} scan(s) of a shipment cancelled meanwhile (rightly refused)"
    verdict.checked += f"; {repeated} copy(ies) repeated by a crash (same original offset, counted once)"
    return verdict


def malformed_changed_nothing(final: Final) -> Verdict:
    verdict = Verdict("malformed changed nothing", "no order from a malformed OrderPlaced (stock: see the balance)")
    for order_id in final.malformed_orders_known:
        verdict.failures.append(f"{order_id}: a malformed OrderPlaced made an order")
        verdict.duplicated += 1
    return verdict


def _cancelled_shipments(final: Final) -> set[str]:
    return {s["shipment_id"] for order in final.orders for s in order.shipments if s["status"] == "cancelled"}


def _repeated(items: Iterable[tuple[object, ...]]) -> list[tuple[object, ...]]:
    counts = Counter(items)
    return [item for item, count in counts.items() if count > 1]


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _cell(cell: Cell) -> str:
    return f"{cell[0]}@{cell[1]}"


def totals(verdicts: list[Verdict], of: Callable[[Verdict], int]) -> int:
    return sum(of(verdict) for verdict in verdicts)
