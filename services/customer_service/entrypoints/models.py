"""Request bodies of the customer_service HTTP API: validated at the edge, so a bad field is a 422 naming it."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from shared.contracts.customer_service import AgentId, CaseCategory, Text
from shared.contracts.envelope import StorableText
from shared.contracts.storefront import ReturnLine

Reason = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Body(StorableText):
    # A misspelt field is an error, not silently ignored: agents' tools should learn of it at once.
    model_config = ConfigDict(extra="forbid")


class OpenCase(Body):
    category: CaseCategory
    summary: Text
    agent_id: AgentId


class AddNote(Body):
    note: Text
    agent_id: AgentId


class Escalate(Body):
    reason: Text
    agent_id: AgentId


class Resolve(Body):
    outcome: Text
    agent_id: AgentId


class RequestCancellation(Body):
    reason: Reason
    agent_id: AgentId


class RequestReturn(Body):
    lines: Annotated[list[ReturnLine], Field(min_length=1, max_length=200)]
    reason: Reason
    agent_id: AgentId
