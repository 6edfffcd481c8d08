"""Use cases are called in unit tests as the runtime calls them: one delivery through the application's unit of
work (`ServiceApplication.process`), so redelivery (the same message id again) and refusal behave as in
production — on in-memory persistence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from shared.messaging.application import Delivery, Processed, ServiceApplication


@dataclass(frozen=True)
class Delivered:
    """Which message a test delivers: a fresh id unless the test repeats one (a redelivery)."""

    message_id: str


def delivered(message_id: str | None = None) -> Delivered:
    return Delivered(message_id or str(uuid4()))


def deliver_to(app: ServiceApplication, message: Delivered, call: Callable[[], None]) -> Processed:
    """Run `call` as the effect of `message`; a refusal is raised as it would be dead-lettered."""
    processed = app.process([Delivery(message.message_id, call)])
    if processed.refused:
        raise processed.refused[0][1]
    return processed


def deliver(use_case: Callable[..., None], message: Delivered, *args: Any, **kwargs: Any) -> Processed:
    """`deliver(app.place_order, delivered(), payload)`: the use case of a bound application method."""
    app = use_case.__self__  # type: ignore[attr-defined]
    assert isinstance(app, ServiceApplication)
    return deliver_to(app, message, lambda: use_case(*args, **kwargs))
