"""The PersonalDataErasure aggregate: an admin asked for a customer's personal data to be erased.

One aggregate per request (a customer may be erased again after ordering again). The fact is kept in customer
service's own log — who asked, when — and published, so that every service holding personal data destroys its
key for the customer. It names the customer by id only: ids are pseudonyms, kept so that orders stay counted.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event


class PersonalDataErasure(Aggregate):
    class Requested(Aggregate.Created):
        customer_id: str
        erasure_id: str
        requested_by: str

    @classmethod
    def request(cls, customer_id: str, requested_by: str) -> PersonalDataErasure:
        return cls(customer_id=customer_id, erasure_id=uuid4().hex, requested_by=requested_by)

    @staticmethod
    def create_id(erasure_id: str) -> UUID:
        return UUID(hex=erasure_id)

    @event(Requested)
    def __init__(self, customer_id: str, erasure_id: str, requested_by: str) -> None:
        self.customer_id = customer_id
        self.erasure_id = erasure_id
        self.requested_by = requested_by
