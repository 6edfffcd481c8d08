"""Request bodies of the customer_service HTTP API: validated at the edge, so a bad field is a 422 naming it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from shared.contracts.customer_service import CaseCategory, CasePriority, Text
from shared.contracts.envelope import StorableText
from shared.contracts.storefront import ReturnLine

Reason = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Body(StorableText):
    # A misspelt field is an error, not silently ignored: agents' tools should learn of it at once.
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_actor_in_the_body(cls, data: Any) -> Any:
        # Who acts is the token's subject: a body naming someone else was how anyone could act as anyone.
        if isinstance(data, dict) and "agent_id" in data:
            raise ValueError("agent_id: no longer accepted; the actor is the subject of your bearer token")
        return data


class OpenCase(Body):
    category: CaseCategory
    summary: Text
    # Unnamed: by category (README, "Support targets").
    priority: CasePriority | None = None


class CustomerStep(Body):
    """Waiting on the customer (what was asked) or the customer's reply (what they said)."""

    note: Text


class AddNote(Body):
    note: Text


class Escalate(Body):
    reason: Text


class Resolve(Body):
    outcome: Text


class RequestCancellation(Body):
    reason: Reason


class RequestReturn(Body):
    lines: Annotated[list[ReturnLine], Field(min_length=1, max_length=200)]
    reason: Reason
