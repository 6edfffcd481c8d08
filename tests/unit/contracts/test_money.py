"""Money on the storefront topic, judged where every payload is (the contract, at the edge): a bad amount is an
`InvalidMessage` naming the field, so the OrderPlaced goes to the DLQ and no order is created."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from shared.contracts.envelope import InvalidMessage, parse_message
from shared.contracts.storefront import STOREFRONT_TYPES, OrderPlacedV1
from tests.factories import order_placed
from tests.kafka_probe import envelope

Change = Callable[[dict[str, Any]], object]


def placed(change: Change | None = None, lines: list[tuple[str, int, str]] | None = None) -> dict[str, Any]:
    data = order_placed("SO-1", lines)
    if change:
        change(data)
    return data


def accepted(data: dict[str, Any]) -> OrderPlacedV1:
    payload = parse_message(envelope("OrderPlaced", data), STOREFRONT_TYPES).data
    assert isinstance(payload, OrderPlacedV1)
    return payload


def refused(data: dict[str, Any]) -> str:
    with pytest.raises(InvalidMessage) as refusal:
        parse_message(envelope("OrderPlaced", data), STOREFRONT_TYPES)
    return refusal.value.reason


def price(value: object) -> Change:
    return lambda data: data["lines"][0].update(unit_price=value)


def paid(value: object) -> Change:
    return lambda data: data["payment"].update(amount=value)


def currency(code: str) -> Change:
    return lambda data: data.update(currency=code)


def test_a_payment_equal_to_the_lines_is_accepted() -> None:
    payload = accepted(placed(lines=[("SHIRT", 2, "19.90"), ("MUG", 1, "8.5")]))

    assert (payload.total, payload.payment.amount) == (Decimal("48.30"), Decimal("48.30"))


def test_a_payment_below_the_lines_is_refused_with_both_amounts() -> None:
    reason = refused(placed(paid("0.01"), lines=[("SHIRT", 1, "9.90")]))

    assert reason.startswith("data.payment.amount: 0.01 EUR paid, but the lines cost 9.90 EUR")


def test_a_payment_above_the_lines_is_refused_too() -> None:
    assert refused(placed(paid("39.81"))).startswith("data.payment.amount: 39.81 EUR paid, but the lines cost 39.80")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("1e10", "exponent notation is not accepted"),
        ("1E+2", "exponent notation is not accepted"),
        ("NaN", "is not a finite amount"),
        ("Infinity", "is not a finite amount"),
        ("-19.90", "is negative"),
        ("0", "a unit price must be above 0"),
        ("0.00", "a unit price must be above 0"),
        (19.9, "must be a decimal string"),
        (20, "must be a decimal string"),
        ("19.901", "has more decimals than EUR has (2 decimals)"),
        (" 19.90", "is not a plain decimal amount"),
        ("1_000.00", "is not a plain decimal amount"),
        ("1,000.00", "is not a plain decimal amount"),
        ("9" * 30, "is too long for an amount"),
        ("10000000.01", "is above the largest order total accepted (10,000,000 EUR)"),
    ],
)
def test_an_insane_unit_price_is_refused_naming_the_line(value: object, why: str) -> None:
    reason = refused(placed(price(value)))

    assert reason.startswith("data.lines.0.unit_price: ")
    assert why in reason


def test_an_absurd_order_total_is_refused_even_when_each_price_is_sane() -> None:
    reason = refused(placed(lines=[("SHIRT", 1_000, "9999.99"), ("MUG", 1_000, "9999.99")]))

    assert reason.startswith("data.lines: the order total 19999980.00 EUR is above the largest order total accepted")


def test_payment_amounts_follow_the_same_rules() -> None:
    assert "exponent notation" in refused(placed(paid("3.98e1")))
    assert refused(placed(paid("39.800"))).startswith("data.payment.amount: 39.800 has more decimals than EUR has")


@pytest.mark.parametrize(
    ("code", "lines", "amount"),
    [
        ("JPY", [("SHIRT", 2, "1500")], "3000"),
        ("KWD", [("SHIRT", 2, "1.250")], "2.500"),
        ("USD", [("SHIRT", 3, "0.1")], "0.3"),
        ("IDR", [("SHIRT", 1, "150000000.00")], "150000000.00"),  # large in rupiah, small in euros
    ],
)
def test_each_currency_has_its_own_minor_unit(code: str, lines: list[tuple[str, int, str]], amount: str) -> None:
    payload = accepted(placed(lambda data: (currency(code)(data), paid(amount)(data)), lines=lines))

    assert payload.payment.amount == Decimal(amount)


def test_a_yen_price_with_decimals_is_refused() -> None:
    reason = refused(placed(currency("JPY"), lines=[("SHIRT", 1, "1500.50")]))

    assert reason.startswith("data.lines.0.unit_price: 1500.50 has more decimals than JPY has (no decimals)")


@pytest.mark.parametrize("code", ["XYZ", "XAU", "XTS", "eur", "EURO", ""])
def test_an_unknown_currency_is_refused(code: str) -> None:
    assert refused(placed(currency(code))).startswith("data.currency: ")
