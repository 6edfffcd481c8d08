"""Topic `customer_service.events.v1`: what the customer_service publishes (key: order_id; an erasure: customer id).

Agents act on orders only through these events: the orders service handles the two requests exactly as it
handles the storefront's (same rules, same refusals), and its answer comes back on `orders.events.v1`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from shared.contracts.envelope import Contract, OrderId
from shared.contracts.storefront import ReturnLine

AgentId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
CaseCategory = Literal["late_delivery", "damaged_item", "wrong_item", "complaint", "other"]
CasePriority = Literal["urgent", "high", "normal", "low"]
TargetKind = Literal["first_response", "resolution"]


class CancellationRequestedByAgentV1(Contract):
    order_id: OrderId
    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    agent_id: AgentId


class ReturnRequestedByAgentV1(Contract):
    order_id: OrderId
    lines: Annotated[list[ReturnLine], Field(min_length=1, max_length=200)]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    agent_id: AgentId


class CaseOpenedV1(Contract):
    case_id: str
    order_id: OrderId
    category: CaseCategory
    summary: Text
    agent_id: AgentId
    # Added with the support targets: cases opened before them are `normal`, with normal's default targets.
    priority: CasePriority = "normal"
    first_response_target_s: int | None = None
    resolution_target_s: int | None = None
    # The review that opened it (a complaint), if any.
    review_id: str | None = None


class CaseNoteAddedV1(Contract):
    case_id: str
    order_id: OrderId
    note: Text
    agent_id: AgentId


class CaseEscalatedV1(Contract):
    case_id: str
    order_id: OrderId
    reason: Text
    agent_id: AgentId


class CaseResolvedV1(Contract):
    case_id: str
    order_id: OrderId
    outcome: Text
    agent_id: AgentId


class CaseWaitingOnCustomerV1(Contract):
    """The agent asked the customer something: the case's target clocks stop until the customer replies."""

    case_id: str
    order_id: OrderId
    note: Text
    agent_id: AgentId


class CaseCustomerRepliedV1(Contract):
    """The customer answered: the clocks run again."""

    case_id: str
    order_id: OrderId
    note: Text
    agent_id: AgentId


class CaseTargetBreachedV1(Contract):
    """A case's first-response or resolution target passed (once per case and target)."""

    case_id: str
    order_id: OrderId
    priority: CasePriority
    target: TargetKind
    target_s: int
    breached_at: datetime


class PersonalDataErasedV1(Contract):
    """An admin erased a customer's personal data: every service holding some destroys its key for the customer
    (once per `erasure_id`). Keyed by `customer_id`; it names no order."""

    customer_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    erasure_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    requested_by: AgentId


CUSTOMER_SERVICE_TYPES: dict[str, type[Contract]] = {
    "CancellationRequestedByAgent": CancellationRequestedByAgentV1,
    "ReturnRequestedByAgent": ReturnRequestedByAgentV1,
    "CaseOpened": CaseOpenedV1,
    "CaseNoteAdded": CaseNoteAddedV1,
    "CaseEscalated": CaseEscalatedV1,
    "CaseResolved": CaseResolvedV1,
    "CaseWaitingOnCustomer": CaseWaitingOnCustomerV1,
    "CaseCustomerReplied": CaseCustomerRepliedV1,
    "CaseTargetBreached": CaseTargetBreachedV1,
    "PersonalDataErased": PersonalDataErasedV1,
}
