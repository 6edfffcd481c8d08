"""Hostile input on the contract topics: every poison is an `InvalidMessage` naming the field, never a crash.

An exception other than `InvalidMessage` escaping the parser would be retried forever (the partition stuck);
an accepted poison would be stored. These bodies are the ones that did either against the running stack.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.contracts.carrier import CARRIER_TYPES
from shared.contracts.customer_service import CaseNoteAddedV1
from shared.contracts.envelope import MAX_NESTING, InvalidMessage, Message, parse_envelope, parse_message
from shared.contracts.storefront import STOREFRONT_TYPES
from shared.contracts.warehouse import WAREHOUSE_TYPES
from tests.factories import order_placed

NUL = "\u0000"
NUL_REASON = "must not contain NUL characters (\\u0000): they cannot be stored"


def raw(type_: str = "TrackingUpdated", data: dict[str, Any] | None = None, **fields: Any) -> bytes:
    envelope = {
        "event_id": str(uuid.uuid4()),
        "type": type_,
        "occurred_at": "2026-11-28T10:15:00Z",
        "data": {"tracking_number": "TN-1", "carrier": "CTT", "status": "in_transit"} if data is None else data,
    }
    return json.dumps({**envelope, **fields}).encode()


def tracking(**fields: Any) -> Message[Any]:
    return parse_message(raw(**fields), CARRIER_TYPES)


def refusal(body: bytes, types: dict[str, Any] = CARRIER_TYPES) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as refused:
        parse_message(body, types)
    return refused.value


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# Nesting.


def test_a_value_nested_10000_deep_is_refused_with_a_reason_not_a_recursion_error() -> None:
    body = b'{"event_id": "3f1c2a9e-7b3d-4c1e-9a57-2f0e6b1d8c44", "data": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    assert len(body) > 20_000

    invalid = refusal(body)

    assert (invalid.reason, invalid.error_type) == (f"value nests deeper than {MAX_NESTING} levels", "decoding")


def test_nesting_up_to_the_limit_is_read_and_one_level_more_is_not() -> None:
    def nested(arrays: int) -> bytes:
        # The envelope and `data` are two levels; the arrays inside make up the rest.
        return raw(data={"deep": json.loads("[" * arrays + "]" * arrays)})

    assert parse_envelope(nested(MAX_NESTING - 2)).data["deep"] is not None
    with pytest.raises(InvalidMessage, match=f"value nests deeper than {MAX_NESTING} levels"):
        parse_envelope(nested(MAX_NESTING - 1))


def test_brackets_and_quotes_inside_strings_do_not_count_as_nesting() -> None:
    detail = '[{"' * 100 + '\\"]'
    message = tracking(data={"tracking_number": "TN-1", "carrier": "CTT", "status": "delayed", "detail": detail})

    assert message.data.detail == detail


# Numbers JSON allows but Python refuses, and constants JSON does not allow.


def test_an_integer_of_5000_digits_is_invalid_json_not_a_crash() -> None:
    body = raw(data={"tracking_number": "TN-1", "carrier": "CTT", "status": "delayed"}).replace(
        b'"delayed"}', b'"delayed", "n": ' + b"7" * 5_000 + b"}"
    )

    invalid = refusal(body)

    assert invalid.error_type == "decoding"
    assert invalid.reason.startswith("value is not valid JSON: Exceeds the limit (4300 digits)")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(constant: str) -> None:
    body = raw().replace(b'"in_transit"}', b'"in_transit", "x": ' + constant.encode() + b"}")

    assert refusal(body).reason == f"value is not valid JSON: {constant} is not allowed in JSON"


# occurred_at: RFC 3339, within the calendar, not in the future.


@pytest.mark.parametrize(
    ("occurred_at", "reason"),
    [
        (1700000000, "must be an RFC 3339 date-time string such as 2026-11-28T10:15:00Z, not the number 1700000000"),
        (
            1700000000.5,
            "must be an RFC 3339 date-time string such as 2026-11-28T10:15:00Z, not the number 1700000000.5",
        ),
        (None, "must be an RFC 3339 date-time string such as 2026-11-28T10:15:00Z, not null"),
        (True, "must be an RFC 3339 date-time string such as 2026-11-28T10:15:00Z, not a boolean"),
        ("1700000000", "'1700000000' is not an RFC 3339 date-time with offset, such as 2026-11-28T10:15:00Z"),
        ("2026-11-28", "'2026-11-28' is not an RFC 3339 date-time with offset, such as 2026-11-28T10:15:00Z"),
        (
            "2026-11-28T10:15:00",
            "'2026-11-28T10:15:00' is not an RFC 3339 date-time with offset, such as 2026-11-28T10:15:00Z",
        ),
        (
            "28/11/2026 10:15",
            "'28/11/2026 10:15' is not an RFC 3339 date-time with offset, such as 2026-11-28T10:15:00Z",
        ),
        ("2026-02-30T10:15:00Z", "'2026-02-30T10:15:00Z' is not a valid date-time: day is out of range for month"),
        ("2026-11-28T10:15:00+24:00", "'2026-11-28T10:15:00+24:00' has an invalid UTC offset"),
        ("0999-12-31T23:59:59Z", "'0999-12-31T23:59:59Z' is out of range: the year (in UTC) must be 1000 to 9999"),
        # 1000-01-01 in Lisbon's winter plus one hour is still 999 in UTC.
        (
            "1000-01-01T00:30:00+01:00",
            "'1000-01-01T00:30:00+01:00' is out of range: the year (in UTC) must be 1000 to 9999",
        ),
    ],
)
def test_occurred_at_must_be_an_rfc_3339_date_time(occurred_at: object, reason: str) -> None:
    invalid = refusal(raw(occurred_at=occurred_at))

    assert (invalid.reason, invalid.error_type) == (f"occurred_at: {reason}", "validation")


def test_occurred_at_is_required() -> None:
    envelope = json.loads(raw())
    del envelope["occurred_at"]

    assert refusal(json.dumps(envelope).encode()).reason == "occurred_at: Field required"


def test_the_year_9999_is_in_the_future() -> None:
    reason = refusal(raw(occurred_at="9999-12-31T23:59:59Z")).reason

    assert reason.startswith("occurred_at: '9999-12-31T23:59:59Z' is in the future: more than 1 day after")


def test_a_day_ahead_of_our_clock_is_accepted_and_more_is_not() -> None:
    now = datetime.now(UTC)
    within = now + timedelta(hours=23)

    assert tracking(occurred_at=z(within)).occurred_at == within
    assert "is in the future" in refusal(raw(occurred_at=z(now + timedelta(hours=25)))).reason


@pytest.mark.parametrize(
    ("occurred_at", "moment"),
    [
        ("2026-11-28T10:15:00Z", datetime(2026, 11, 28, 10, 15, tzinfo=UTC)),
        ("2026-11-28T10:15:00.120+01:00", datetime(2026, 11, 28, 10, 15, 0, 120_000, timezone(timedelta(hours=1)))),
        ("2026-11-28t10:15:00.123456789z", datetime(2026, 11, 28, 10, 15, 0, 123_456, tzinfo=UTC)),
        ("2026-11-28 10:15:00-00:00", datetime(2026, 11, 28, 10, 15, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),  # a leap second
        ("1000-01-01T00:00:00Z", datetime(1000, 1, 1, tzinfo=UTC)),
    ],
)
def test_rfc_3339_forms_are_read_as_the_moment_they_name(occurred_at: str, moment: datetime) -> None:
    assert tracking(occurred_at=occurred_at).occurred_at == moment


@pytest.mark.parametrize(
    ("promised", "reason"),
    [
        (1700000000, "must be a date string such as 2026-12-02, not the number 1700000000"),
        ("1700000000", "'1700000000' is not a date such as 2026-12-02 (YYYY-MM-DD)"),
        ("2026-12-02T00:00:00Z", "'2026-12-02T00:00:00Z' is not a date such as 2026-12-02 (YYYY-MM-DD)"),
        ("0999-12-02", "'0999-12-02' is out of range: the year must be 1000 to 9999"),
    ],
)
def test_promised_delivery_by_must_be_a_calendar_date(promised: object, reason: str) -> None:
    data = {**order_placed("SO-1"), "promised_delivery_by": promised}

    assert refusal(raw("OrderPlaced", data), STOREFRONT_TYPES).reason == f"data.promised_delivery_by: {reason}"


# NUL characters, in any string of any contract.


@pytest.mark.parametrize(
    ("path", "change"),
    [
        ("customer.name", lambda d: d["customer"].update(name=f"Ana{NUL}Silva")),
        ("customer.id", lambda d: d["customer"].update(id=f"C-{NUL}")),
        ("shipping_address.name", lambda d: d["shipping_address"].update(name=f"{NUL}Ana")),
        ("shipping_address.line1", lambda d: d["shipping_address"].update(line1=f"Rua{NUL}")),
        ("shipping_address.line2", lambda d: d["shipping_address"].update(line2=f"2{NUL}")),
        ("shipping_address.city", lambda d: d["shipping_address"].update(city=f"Lis{NUL}boa")),
        ("shipping_address.postal_code", lambda d: d["shipping_address"].update(postal_code=f"1100{NUL}")),
        ("payment.reference", lambda d: d["payment"].update(reference=f"pi_{NUL}")),
        ("payment.status", lambda d: d["payment"].update(status=f"captured{NUL}")),
    ],
)
def test_a_nul_in_any_text_of_an_order_is_refused_naming_the_field(path: str, change: Any) -> None:
    data = order_placed("SO-1")
    change(data)

    assert refusal(raw("OrderPlaced", data), STOREFRONT_TYPES).reason == f"data.{path}: {NUL_REASON}"


@pytest.mark.parametrize(
    ("types", "type_", "data", "path"),
    [
        (STOREFRONT_TYPES, "OrderCancellationRequested", {"order_id": "SO-1", "reason": f"x{NUL}"}, "reason"),
        (
            STOREFRONT_TYPES,
            "ReturnRequested",
            {"order_id": "SO-1", "lines": [{"sku": "A", "quantity": 1}], "reason": f"wrong{NUL}size"},
            "reason",
        ),
        (
            WAREHOUSE_TYPES,
            "StockAdjusted",
            {"sku": "A", "warehouse": "LIS-1", "delta": -1, "reason": f"count{NUL}"},
            "reason",
        ),
        (
            WAREHOUSE_TYPES,
            "ShipmentDispatched",
            {"shipment_id": "S-1", "carrier": f"CTT{NUL}", "tracking_number": "TN-1"},
            "carrier",
        ),
        (
            CARRIER_TYPES,
            "TrackingUpdated",
            {"tracking_number": "TN-1", "carrier": "CTT", "status": "delayed", "location": f"{NUL}"},
            "location",
        ),
        (
            CARRIER_TYPES,
            "TrackingUpdated",
            {"tracking_number": "TN-1", "carrier": "CTT", "status": "delayed", "detail": f"late{NUL}"},
            "detail",
        ),
    ],
)
def test_a_nul_in_the_text_of_any_topic_is_refused_naming_the_field(
    types: dict[str, Any], type_: str, data: dict[str, Any], path: str
) -> None:
    assert refusal(raw(type_, data), types).reason == f"data.{path}: {NUL_REASON}"


def test_a_nul_in_a_patterned_field_is_refused_by_its_pattern_naming_the_field() -> None:
    data = order_placed("SO-1")
    data["lines"][0]["sku"] = f"TSHIRT{NUL}"

    assert refusal(raw("OrderPlaced", data), STOREFRONT_TYPES).reason.startswith("data.lines.0.sku: ")


def test_a_nul_in_the_envelope_is_refused_naming_the_field() -> None:
    assert refusal(raw(type_=f"Tracking{NUL}Updated")).reason == f"type: {NUL_REASON}"
    assert refusal(raw(traceparent=f"00-{NUL}")).reason == f"traceparent: {NUL_REASON}"


def test_a_nul_in_a_field_nobody_reads_is_ignored_like_the_field() -> None:
    data = {"tracking_number": "TN-1", "carrier": "CTT", "status": "delayed", "future_field": NUL}

    assert tracking(data=data).data.status == "delayed"


def test_internal_contracts_refuse_nul_too() -> None:
    with pytest.raises(ValueError, match=r"note\n.*must not contain NUL characters"):
        CaseNoteAddedV1(case_id="CASE-1", order_id="SO-1", note=f"called{NUL}", agent_id="ag-1")


# Personal data in reasons (they are logged, and sent as the DLQ's `error` header).


@pytest.mark.parametrize("email", ["ana.secret@exa mple.com", "ana.secret@@example.com", "ana.secret.example.com"])
def test_a_bad_email_is_refused_without_quoting_any_part_of_it(email: str) -> None:
    order = order_placed("SO-1")
    order["customer"]["email"] = email

    reason = refusal(raw("OrderPlaced", order), STOREFRONT_TYPES).reason

    assert reason == "data.customer.email: value is not a valid email address"
