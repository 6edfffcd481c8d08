"""What the reporting service reads from its topics (the contracts' parsing): what is accepted and refused, with
the reasons a DLQ gets, for the inputs that take the parser's fast paths (times written with `Z`, text without a
NUL escape) and those next to them that must not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from services.reporting.policies import observed
from shared.contracts.envelope import InvalidMessage, Message, parse_message
from shared.contracts.orders import ORDERS_TYPES

NUL = "\u0000"
ORDER: dict[str, Any] = {
    "order_id": "SO-1",
    "customer": {"id": "C-1", "email": "ana@example.com", "name": "Ana"},
    "shipping_address": {"name": "Ana", "line1": "Rua 1", "city": "Lisboa", "postal_code": "1100", "country": "PT"},
    "lines": [{"sku": "TSHIRT", "quantity": 2, "unit_price": "19.90"}],
    "currency": "EUR",
    "total": "39.80",
    "shipping_method": "standard",
    "promised_delivery_by": "2026-12-02",
}


def body(data: dict[str, Any] | None = None, **fields: Any) -> bytes:
    envelope = {
        "event_id": "3f1c2a9e-7b3d-4c1e-9a57-2f0e6b1d8c44",
        "type": "OrderAccepted",
        "occurred_at": "2026-11-28T10:15:00Z",
        "data": ORDER if data is None else data,
        **fields,
    }
    return json.dumps(envelope).encode()


def read(value: bytes) -> Message[Any]:
    return parse_message(value, ORDERS_TYPES)


def reason(value: bytes) -> str:
    with pytest.raises(InvalidMessage) as refused:
        read(value)
    return refused.value.reason


@pytest.mark.parametrize(
    ("occurred_at", "moment"),
    [
        ("2026-11-28T10:15:00Z", datetime(2026, 11, 28, 10, 15, tzinfo=UTC)),
        ("2026-11-28T10:15:00.1Z", datetime(2026, 11, 28, 10, 15, 0, 100_000, tzinfo=UTC)),
        ("2026-11-28T10:15:00.123456Z", datetime(2026, 11, 28, 10, 15, 0, 123_456, tzinfo=UTC)),
        ("2026-11-28T10:15:00.1234567Z", datetime(2026, 11, 28, 10, 15, 0, 123_456, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),  # a leap second
        ("2026-11-28T11:15:00+01:00", datetime(2026, 11, 28, 11, 15, tzinfo=timezone(timedelta(hours=1)))),
        ("2026-11-28t10:15:00z", datetime(2026, 11, 28, 10, 15, tzinfo=UTC)),
    ],
)
def test_every_form_of_a_time_is_read_as_the_instant_it_names(occurred_at: str, moment: datetime) -> None:
    message = read(body(occurred_at=occurred_at))

    assert message.occurred_at == moment
    assert message.occurred_at.utcoffset() == moment.utcoffset()


@pytest.mark.parametrize(
    ("occurred_at", "why"),
    [
        ("2026-02-30T10:15:00Z", "is not a valid date-time: day is out of range for month"),
        ("2026-11-28T24:00:00Z", "is not a valid date-time: hour must be in 0..23"),
        ("2026-11-28T10:15:00+05:75", "has an invalid UTC offset"),
        ("0999-12-31T23:59:59Z", "is out of range: the year (in UTC) must be 1000 to 9999"),
    ],
)
def test_a_time_that_is_no_instant_is_refused_with_its_reason(occurred_at: str, why: str) -> None:
    assert reason(body(occurred_at=occurred_at)) == f"occurred_at: {occurred_at!r} {why}"


def test_a_byte_order_mark_is_refused_as_json_refuses_it() -> None:
    assert reason(b"\xef\xbb\xbf" + body()) == (
        "value is not valid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig) at line 1 column 1"
    )


@pytest.mark.parametrize("constant", ["NaN", "Infinity"])
def test_non_json_constants_are_refused(constant: str) -> None:
    value = body().replace(b'"SO-1"', constant.encode(), 1)

    assert reason(value) == f"value is not valid JSON: {constant} is not allowed in JSON"


def test_a_nul_in_any_text_is_refused_naming_the_field_beside_other_errors() -> None:
    data = {**ORDER, "customer": {**ORDER["customer"], "name": f"Ana{NUL}"}, "currency": 7}

    assert reason(body(data)) == (
        "data.customer.name: must not contain NUL characters (\\u0000): they cannot be stored; "
        "data.currency: Input should be a valid string"
    )


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul() -> None:
    data = {**ORDER, "customer": {**ORDER["customer"], "name": "Ana\\u0000"}}

    message = read(body(data))

    assert message.data.customer.name == "Ana\\u0000"


def test_what_the_edge_reads_is_what_the_fold_sees() -> None:
    message = read(body())

    seen = observed("orders", message)

    assert (seen.type, seen.occurred_at, seen.order_id) == ("OrderAccepted", "2026-11-28T10:15:00.000000Z", "SO-1")
    assert seen.data == message.data.model_dump(mode="json")
    assert seen.data["total"] == "39.80" and seen.data["promised_delivery_by"] == "2026-12-02"
