"""Extra value types for the eventsourcing JSON transcoder, shared by the services' applications."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from typing import Any

from eventsourcing.persistence import Transcoding


class DateAsISO(Transcoding):
    """Promised delivery dates travel in events; the library transcodes datetimes but not dates."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class DataclassAsDict(Transcoding):
    """A flat frozen dataclass as a dict of its fields (nested values go through the other transcodings)."""

    def __init__(self, value_type: type[Any], namespace: str) -> None:
        self.type = value_type
        self.name = f"{namespace}.{value_type.__name__}"

    def encode(self, obj: Any) -> dict[str, Any]:
        return {field.name: getattr(obj, field.name) for field in fields(obj)}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)
