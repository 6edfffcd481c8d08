"""Customer service's domain events as `customer_service.events.v1` messages, keyed by order id.

Case events go out so that they come back through the one consumer into the order's timeline (one path for
every timeline entry, so a rebuild from the received-events log sees them too); agent requests go out for the
orders service to decide on.
"""

from __future__ import annotations

from services.customer_service.domain.agent_request import CANCELLATION, AgentRequest
from services.customer_service.domain.case import SupportCase
from services.customer_service.domain.erasure import PersonalDataErasure
from shared.contracts.customer_service import (
    CancellationRequestedByAgentV1,
    CaseCustomerRepliedV1,
    CaseEscalatedV1,
    CaseNoteAddedV1,
    CaseOpenedV1,
    CaseResolvedV1,
    CaseTargetBreachedV1,
    CaseWaitingOnCustomerV1,
    PersonalDataErasedV1,
    ReturnRequestedByAgentV1,
)
from shared.contracts.envelope import Contract
from shared.contracts.storefront import ReturnLine
from shared.contracts.topics import CUSTOMER_SERVICE_EVENTS
from shared.messaging.outbound import Outbound


def to_outbound(event: object) -> Outbound | None:
    match event:
        case SupportCase.Opened():
            return _message(
                event.order_id,
                "CaseOpened",
                CaseOpenedV1.model_validate(
                    {
                        "case_id": event.case_id,
                        "order_id": event.order_id,
                        "category": event.category,
                        "summary": event.summary,
                        "agent_id": event.agent_id,
                        # Cases stored before priorities existed are normal, with the targets the contract implies.
                        "priority": getattr(event, "priority", "normal"),
                        "first_response_target_s": getattr(event, "first_response_target_s", None),
                        "resolution_target_s": getattr(event, "resolution_target_s", None),
                        "review_id": getattr(event, "review_id", None),
                    }
                ),
            )
        case SupportCase.NoteAdded():
            return _message(
                event.order_id,
                "CaseNoteAdded",
                CaseNoteAddedV1(
                    case_id=event.case_id, order_id=event.order_id, note=event.note, agent_id=event.agent_id
                ),
            )
        case SupportCase.Escalated():
            return _message(
                event.order_id,
                "CaseEscalated",
                CaseEscalatedV1(
                    case_id=event.case_id, order_id=event.order_id, reason=event.reason, agent_id=event.agent_id
                ),
            )
        case SupportCase.Resolved():
            return _message(
                event.order_id,
                "CaseResolved",
                CaseResolvedV1(
                    case_id=event.case_id, order_id=event.order_id, outcome=event.outcome, agent_id=event.agent_id
                ),
            )
        case SupportCase.WaitingOnCustomer():
            return _message(
                event.order_id,
                "CaseWaitingOnCustomer",
                CaseWaitingOnCustomerV1(
                    case_id=event.case_id, order_id=event.order_id, note=event.note, agent_id=event.agent_id
                ),
            )
        case SupportCase.CustomerReplied():
            return _message(
                event.order_id,
                "CaseCustomerReplied",
                CaseCustomerRepliedV1(
                    case_id=event.case_id, order_id=event.order_id, note=event.note, agent_id=event.agent_id
                ),
            )
        case SupportCase.TargetBreached():
            return _message(
                event.order_id,
                "CaseTargetBreached",
                CaseTargetBreachedV1(
                    case_id=event.case_id,
                    order_id=event.order_id,
                    priority=event.priority,
                    target=event.target,
                    target_s=event.target_s,
                    breached_at=event.breached_at,
                ),
            )
        case AgentRequest.Requested(kind=kind) if kind == CANCELLATION:
            return _message(
                event.order_id,
                "CancellationRequestedByAgent",
                CancellationRequestedByAgentV1(order_id=event.order_id, reason=event.reason, agent_id=event.agent_id),
            )
        case AgentRequest.Requested():
            return _message(
                event.order_id,
                "ReturnRequestedByAgent",
                ReturnRequestedByAgentV1(
                    order_id=event.order_id,
                    lines=[ReturnLine.model_validate(line) for line in event.lines],
                    reason=event.reason,
                    agent_id=event.agent_id,
                ),
            )
        case PersonalDataErasure.Requested():
            # Keyed by customer: it is about no order, and one partition keeps a customer's erasures in order.
            return _message(
                event.customer_id,
                "PersonalDataErased",
                PersonalDataErasedV1(
                    customer_id=event.customer_id, erasure_id=event.erasure_id, requested_by=event.requested_by
                ),
            )
    return None


def _message(order_id: str, type_: str, data: Contract) -> Outbound:
    return Outbound(topic=CUSTOMER_SERVICE_EVENTS, key=order_id, type=type_, data=data)
