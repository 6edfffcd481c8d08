"""The envelope every message on every topic travels in (CONTRACT.md), and strict parsing of inbound bytes.

Inbound bytes come from systems we do not control, so parsing refuses, with an `InvalidMessage` naming the
field, everything that could otherwise crash or stall a consumer or poison the stores later:
- values nested deeper than `MAX_NESTING` (checked on the bytes, before the recursive JSON parser runs);
- numbers the JSON parser cannot convert (more than 4,300 digits), and the non-JSON `NaN` / `Infinity`;
- `occurred_at` that is not an RFC 3339 date-time string, or outside the years 1000-9999, or more than
  `MAX_CLOCK_SKEW` ahead of this service's clock (see `Rfc3339DateTime`);
- strings, in any field of any contract, holding NUL (`\\u0000`): FerretDB cannot store them, so the
  message would fail at every retry. (Unpaired surrogates, which BSON cannot encode, pydantic refuses itself.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import accumulate
from typing import Annotated, Any, ClassVar, Generic, TypeVar
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

Payload = TypeVar("Payload", bound=BaseModel)

OrderId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
WarehouseCode = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")]
Quantity = Annotated[int, Field(ge=1, le=1_000_000, strict=True)]

# The deepest contract nests 5 levels (envelope, data, lines, line, ...); 64 leaves room for senders' extra
# fields and is far below the recursion limit of the JSON parser and of pydantic (about 1,000).
MAX_NESTING = 64
# How far ahead of our clock an `occurred_at` may be. Clocks of senders drift and time zones get mixed up,
# so a few hours ahead is plausible; a day ahead is not, and such a time must not win "latest update"
# comparisons (a carrier update dated 9999-12-31 once froze a shipment's status).
MAX_CLOCK_SKEW = timedelta(days=1)
# Years outside this range do not survive the round trip through fixed-width ISO strings.
MIN_YEAR, MAX_YEAR = 1000, 9999


# Text that cannot be stored.


def _unstorable_text(value: object, where: str = "") -> str | None:
    """Why `value` (a field's value, possibly a list or dict of strings) cannot be stored, else None.

    Nested contracts are not entered: they ran this check on their own fields, and report the full path."""
    if isinstance(value, str):
        return f"{where}must not contain NUL characters (\\u0000): they cannot be stored" if "\x00" in value else None
    if isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            problem = _unstorable_text(item, f"{where}item {index} ")
            if problem:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _unstorable_text(key, f"{where}key {str(key)[:40]!r} ") or _unstorable_text(
                item, f"{where}value of {str(key)[:40]!r} "
            )
            if problem:
                return problem
    return None


# What `_unstorable_text` looks into; any other value holds no text it checks.
_MAY_HOLD_TEXT = (str, list, tuple, set, frozenset, dict)


class StorableText(BaseModel):
    """Every string of every field is checked once here (`_storable_text`), so no field can forget it: NUL
    characters are refused with the field's path. The base of every contract; HTTP request bodies that end up
    in an event log can inherit it too."""

    # Fields whose raw content is validated elsewhere (the envelope's `data`, by the payload contract).
    text_checked_elsewhere: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any, info: ValidationInfo) -> Any:
        # It runs for every field of every message: the values `_unstorable_text` would pass at once (text without
        # NUL, anything that is neither text nor a collection) return here, at about half the cost.
        if type(value) is str:
            if "\x00" not in value:
                return value
        elif not isinstance(value, _MAY_HOLD_TEXT):
            return value
        if info.field_name in cls.text_checked_elsewhere:
            return value
        problem = _unstorable_text(value)
        if problem is not None:
            # A custom error type: pydantic would otherwise prefix "Value error, " to the reason.
            raise PydanticCustomError("unstorable_text", "{problem}", {"problem": problem})
        return value


class Contract(StorableText):
    """Base of every payload: unknown fields are ignored (senders may be newer than us), values immutable, and
    no string holds a NUL character (`StorableText`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


# Dates and times as the contract writes them.


_RFC3339 = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt ]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<offset_hours>[0-9]{2}):(?P<offset_minutes>[0-9]{2}))"
)
_ISO_DATE = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})")
EXAMPLE_TIME = "2026-11-28T10:15:00Z"


def _not_text(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return f"a JSON {'object' if isinstance(value, dict) else 'array' if isinstance(value, list) else 'value'}"


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _time_error(message: str) -> PydanticCustomError:
    return PydanticCustomError("rfc3339_datetime", "{message}", {"message": message})


def parse_rfc3339(value: object, now: datetime | None = None) -> datetime:
    """An RFC 3339 date-time (`2026-11-28T10:15:00Z`, `...10:15:00.120+01:00`) as an aware datetime.

    Refused: anything but a string (unix times such as 1700000000, which pydantic would take as seconds),
    strings without a time or an offset, numeric strings, years (in UTC) before 1000 or after 9999, and times
    more than `MAX_CLOCK_SKEW` (1 day) after `now` (this service's clock). A leap second (`:60`) is read as the
    last microsecond of its minute; digits after the sixth of a fraction are dropped. Aware `datetime` objects
    (built in code, never from JSON) pass through the same range checks.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise _time_error("needs a UTC offset or Z (RFC 3339)")
        moment = value
        shown = repr(moment.isoformat())
    elif isinstance(value, str):
        fast = _utc_time(value)
        if fast is not None:
            moment = fast
        else:
            match = _RFC3339.fullmatch(value)
            if match is None:
                raise _time_error(f"{_shown(value)} is not an RFC 3339 date-time with offset, such as {EXAMPLE_TIME}")
            moment = _from_match(match, value)
        shown = _shown(value)
    else:
        raise _time_error(f"must be an RFC 3339 date-time string such as {EXAMPLE_TIME}, not {_not_text(value)}")
    now = now or datetime.now(UTC)
    if moment > now + MAX_CLOCK_SKEW:
        raise _time_error(
            f"{shown} is in the future: more than {_skew()} after this service's clock "
            f"({now.astimezone(UTC).isoformat(timespec='seconds').replace('+00:00', 'Z')})"
        )
    year = moment.astimezone(UTC).year
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _time_error(f"{shown} is out of range: the year (in UTC) must be {MIN_YEAR} to {MAX_YEAR}")
    return moment


# The form every service writes (`encode_raw`): UTC as `Z`, at most six decimals. Read by the C parser at a tenth
# of `_from_match`'s cost (which was a sixth of a consumer's validation); anything else, and whatever the C parser
# refuses (a leap second, a day out of range), goes to `_from_match`, which gives the reason.
_UTC_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?Z")


def _utc_time(text: str) -> datetime | None:
    if _UTC_TIME.fullmatch(text) is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _from_match(match: re.Match[str], text: str) -> datetime:
    part = match.groupdict()
    if part["utc"]:
        zone = UTC
    else:
        hours, minutes = int(part["offset_hours"]), int(part["offset_minutes"])
        if hours > 23 or minutes > 59:
            raise _time_error(f"{_shown(text)} has an invalid UTC offset")
        sign = -1 if part["sign"] == "-" else 1
        # RFC 3339 writes "-00:00" for "UTC, local offset unknown": the same instant as Z.
        zone = timezone(sign * timedelta(hours=hours, minutes=minutes)) if hours or minutes else UTC
    second = int(part["second"])
    microsecond = int((part["fraction"] or "0")[:6].ljust(6, "0"))
    if second == 60:
        second, microsecond = 59, 999_999
    try:
        return datetime(
            int(part["year"]),
            int(part["month"]),
            int(part["day"]),
            int(part["hour"]),
            int(part["minute"]),
            second,
            microsecond,
            tzinfo=zone,
        )
    except ValueError as error:
        raise _time_error(f"{_shown(text)} is not a valid date-time: {error}") from None


def _skew() -> str:
    days = MAX_CLOCK_SKEW / timedelta(days=1)
    return f"{days:g} day{'s' if days != 1 else ''}"


def parse_iso_date(value: object) -> date:
    """A calendar date written `YYYY-MM-DD`, years 1000 to 9999; not a number, not a date-time."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "iso_date", "{message}", {"message": f"must be a date string such as 2026-12-02, not {_not_text(value)}"}
        )
    match = _ISO_DATE.fullmatch(value)
    message = f"{_shown(value)} is not a date such as 2026-12-02 (YYYY-MM-DD)"
    if match is not None:
        try:
            parsed = date(int(match["year"]), int(match["month"]), int(match["day"]))
        except ValueError as error:
            message = f"{_shown(value)} is not a valid date: {error}"
        else:
            if parsed.year >= MIN_YEAR:
                return parsed
            message = f"{_shown(value)} is out of range: the year must be {MIN_YEAR} to {MAX_YEAR}"
    raise PydanticCustomError("iso_date", "{message}", {"message": message})


# `AwareDatetime`/`date` keep the JSON schema (`format: date-time` / `date`); the validators do the parsing.
Rfc3339DateTime = Annotated[AwareDatetime, BeforeValidator(lambda value: parse_rfc3339(value))]
IsoDate = Annotated[date, BeforeValidator(parse_iso_date)]


class Envelope(Contract):
    text_checked_elsewhere = frozenset({"data"})

    event_id: UUID
    type: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    occurred_at: Rfc3339DateTime
    data: dict[str, Any]
    # Internal events only: the schema version of `data` and the W3C trace context of the order.
    schema_version: int = 1
    traceparent: str | None = None


class Message(Contract, Generic[Payload]):
    """An envelope whose `data` has been validated against the contract of its `type`."""

    event_id: UUID
    type: str
    occurred_at: datetime
    data: Payload
    traceparent: str | None = None


_ANY_MESSAGE = Message[Any]


class InvalidMessage(ValueError):
    """Not processable as sent: goes to the DLQ unchanged with this reason (which names the field)."""

    def __init__(self, reason: str, error_type: str = "validation") -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_type = error_type


# Nesting depth, measured on the bytes: JSON strings (which may hold brackets) are removed, then each
# remaining bracket counts +1 or -1. All of it runs in C (re, bytes.translate, accumulate), so a 1 MB value
# costs milliseconds, and nothing recurses.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_STEP = [0] * 256
for _opening in b"[{":
    _STEP[_opening] = 1
for _closing in b"]}":
    _STEP[_closing] = -1


def nesting_depth(raw: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (0 for a scalar), without parsing it."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


# `json.loads(text, parse_constant=...)` builds a decoder per call (a third of its cost); this one is built once.
# `json.loads` also refuses a text that starts with a byte order mark, before decoding: `_json_document` too.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _json_document(text: str) -> Any:
    if text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _DECODER.decode(text)


def parse_envelope(raw: bytes) -> Envelope:
    """Decode the bytes of a message and validate its envelope (not yet its `data`)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidMessage(f"value is not UTF-8: {error.reason} at byte {error.start}", "decoding") from None
    # Before json.loads: it recurses once per level, and a 20 KB value of 10,000 brackets would raise
    # RecursionError (not a JSON error) at every redelivery. Counting first skips the scan for most messages.
    if raw.count(b"[") + raw.count(b"{") > MAX_NESTING and nesting_depth(raw) > MAX_NESTING:
        raise InvalidMessage(f"value nests deeper than {MAX_NESTING} levels", "decoding")
    try:
        document = _json_document(text)
    except json.JSONDecodeError as error:
        raise InvalidMessage(
            f"value is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}", "decoding"
        ) from None
    except ValueError as error:
        # NaN/Infinity, or an integer of more than 4,300 digits (Python's int-from-text limit).
        raise InvalidMessage(f"value is not valid JSON: {error}", "decoding") from None
    except RecursionError:
        # Not reachable past the depth check; kept so that no input can turn into an endless redelivery.
        raise InvalidMessage(f"value nests deeper than {MAX_NESTING} levels", "decoding") from None
    if not isinstance(document, dict):
        raise InvalidMessage(f"value must be a JSON object, got {_json_type(document)}")
    try:
        return Envelope.model_validate(document)
    except ValidationError as error:
        raise InvalidMessage(describe(error)) from None
    except RecursionError:
        raise InvalidMessage(f"value nests deeper than {MAX_NESTING} levels", "decoding") from None


def _json_type(document: object) -> str:
    if document is None:
        return "null"
    return {list: "an array", str: "a string", bool: "a boolean"}.get(type(document), "a number")


def validate_payload(envelope: Envelope, payload_type: type[Contract]) -> Message[Any]:
    try:
        data = payload_type.model_validate(envelope.data)
    except ValidationError as error:
        raise InvalidMessage(describe(error, prefix="data")) from None
    except RecursionError:
        raise InvalidMessage(f"data: nests deeper than {MAX_NESTING} levels", "decoding") from None
    # Every part is validated already (by the envelope and the payload's contract), and `Message` refuses nothing
    # they can be: validating them again cost twice what building it does, for every message.
    return _ANY_MESSAGE.model_construct(
        event_id=envelope.event_id,
        type=envelope.type,
        occurred_at=envelope.occurred_at,
        data=data,
        traceparent=envelope.traceparent,
    )


def parse_message(raw: bytes, payload_types: Mapping[str, type[Contract]]) -> Message[Any]:
    """Decode and validate one message of a topic whose types are `payload_types`."""
    envelope = parse_envelope(raw)
    payload_type = payload_types.get(envelope.type)
    if payload_type is None:
        raise InvalidMessage(unknown_type(envelope.type, payload_types))
    return validate_payload(envelope, payload_type)


def unknown_type(type_: str, payload_types: Mapping[str, type[Contract]]) -> str:
    return f"type: unknown event type {type_!r}; expected one of {sorted(payload_types)}"


def describe(error: ValidationError, prefix: str = "") -> str:
    """`data.lines.0.quantity: Input should be greater than or equal to 1` — field first, then the rule."""
    problems = []
    for problem in error.errors()[:5]:
        path = ".".join(str(part) for part in (prefix, *problem["loc"]) if part != "")
        message = problem["msg"]
        if path.endswith("email"):
            # The validator's detail quotes parts of the address, and reasons are logged and sent as DLQ headers.
            message = message.split(":")[0]
        problems.append(f"{path or 'value'}: {message}")
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def encode(event_id: UUID, type_: str, occurred_at: datetime, data: Contract, traceparent: str | None = None) -> bytes:
    """The JSON bytes of an outbound message, in the same envelope as inbound ones."""
    return encode_raw(event_id, type_, occurred_at, data.model_dump(mode="json"), traceparent)


def encode_raw(
    event_id: UUID, type_: str, occurred_at: datetime, data: dict[str, Any], traceparent: str | None = None
) -> bytes:
    """`encode` for data already plain JSON values (a message kept as it came in)."""
    envelope: dict[str, Any] = {
        "event_id": str(event_id),
        "type": type_,
        "occurred_at": occurred_at.isoformat().replace("+00:00", "Z"),
        "schema_version": 1,
        "data": data,
    }
    if traceparent:
        envelope["traceparent"] = traceparent
    return json.dumps(envelope, separators=(",", ":")).encode()
