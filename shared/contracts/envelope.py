"""The envelope every message on every topic travels in (CONTRACT.md), and strict parsing of inbound bytes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

Payload = TypeVar("Payload", bound=BaseModel)

OrderId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
WarehouseCode = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")]
Quantity = Annotated[int, Field(ge=1, le=1_000_000, strict=True)]


class Contract(BaseModel):
    """Base of every payload: unknown fields are ignored (senders may be newer than us), values immutable."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Envelope(Contract):
    event_id: UUID
    type: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    occurred_at: AwareDatetime
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


class InvalidMessage(ValueError):
    """Not processable as sent: goes to the DLQ unchanged with this reason (which names the field)."""

    def __init__(self, reason: str, error_type: str = "validation") -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_type = error_type


def parse_envelope(raw: bytes) -> Envelope:
    """Decode the bytes of a message and validate its envelope (not yet its `data`)."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InvalidMessage(f"value is not UTF-8: {error.reason} at byte {error.start}", "decoding") from None
    except json.JSONDecodeError as error:
        raise InvalidMessage(
            f"value is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}", "decoding"
        ) from None
    if not isinstance(document, dict):
        raise InvalidMessage(f"value must be a JSON object, got {type(document).__name__}")
    try:
        return Envelope.model_validate(document)
    except ValidationError as error:
        raise InvalidMessage(describe(error)) from None


def validate_payload(envelope: Envelope, payload_type: type[Contract]) -> Message[Any]:
    try:
        data = payload_type.model_validate(envelope.data)
    except ValidationError as error:
        raise InvalidMessage(describe(error, prefix="data")) from None
    return Message[Any](
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
        problems.append(f"{path or 'value'}: {problem['msg']}")
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def encode(event_id: UUID, type_: str, occurred_at: datetime, data: Contract, traceparent: str | None = None) -> bytes:
    """The JSON bytes of an outbound message, in the same envelope as inbound ones."""
    envelope: dict[str, Any] = {
        "event_id": str(event_id),
        "type": type_,
        "occurred_at": occurred_at.isoformat().replace("+00:00", "Z"),
        "schema_version": 1,
        "data": data.model_dump(mode="json"),
    }
    if traceparent:
        envelope["traceparent"] = traceparent
    return json.dumps(envelope, separators=(",", ":")).encode()
