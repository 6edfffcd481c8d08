"""The event-log side: a library `Mapper` that seals personal fields of domain events on their way into the store
and opens them on the way out, so that the domain keeps plain values and the log holds none.

A service declares which event classes carry what (`PersonalField`), in its application; the library's
transcoder, compressor and cipher work unchanged underneath.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Cipher, Compressor, Mapper, StoredEvent, Transcoder

from shared.personal_data.sealing import PlaintextSealer, Sealer, personal_fields

# Events that name no customer (stored before events carried one) are sealed under this subject: never
# plaintext, though no customer's erasure reaches them.
UNATTRIBUTED = "@unattributed"


@dataclass(frozen=True)
class PersonalField:
    """`attribute` of the event is a dict whose `fields` are personal; `subject` is the path to the customer id
    in the event (`"customer.id"`, `"customer_id"`)."""

    attribute: str
    subject: str
    fields: tuple[str, ...]

    def subject_of(self, state: Mapping[str, Any]) -> str:
        value: Any = state
        for part in self.subject.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return str(value) if value else UNATTRIBUTED


PersonalFields = Mapping[type, Sequence[PersonalField]]


class PersonalDataMapper(Mapper[UUID]):
    def __init__(
        self,
        transcoder: Transcoder,
        sealer: Sealer,
        personal: PersonalFields,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
    ) -> None:
        super().__init__(transcoder, compressor, cipher)
        self.sealer = sealer
        self.personal = personal

    def prepare(self, domain_events: Iterable[DomainEventProtocol[UUID]]) -> None:
        """Before a batch's events are stored (one by one, by the library): the keys of the new customers they name,
        created at once."""
        subjects = []
        for domain_event in domain_events:
            state = vars(domain_event)
            for spec in self.personal.get(type(domain_event), ()):
                value = state.get(spec.attribute)
                if isinstance(value, Mapping) and personal_fields(value, spec.fields):
                    subjects.append(spec.subject_of(state))
        if subjects:
            self.sealer.prepare(subjects)

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        personal = self.personal.get(type(domain_event))
        if personal:
            state = dict(vars(domain_event))
            for spec in personal:
                value = state.get(spec.attribute)
                if isinstance(value, Mapping):
                    state[spec.attribute] = self.sealer.seal(value, spec.subject_of(state), spec.fields, spec.attribute)
            # A copy to encode; the event itself (in the aggregate, on its way to the relay) keeps plain values.
            sealed = object.__new__(type(domain_event))
            object.__setattr__(sealed, "__dict__", state)
            domain_event = sealed
        return super().to_stored_event(domain_event)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        personal = self.personal.get(type(domain_event))
        if personal:
            state = vars(domain_event)
            for spec in personal:
                value = state.get(spec.attribute)
                if isinstance(value, Mapping):
                    state[spec.attribute] = self.sealer.open(value, spec.attribute)
        return domain_event


def stop_sealing(mapper: Mapper[UUID]) -> None:
    """UNSAFE_DISABLE_PERSONAL_DATA_SEALING for an application's event log, once the application is built (its
    event store, repository and notification log already hold this mapper): new events are stored in plaintext,
    stored sealed ones still open."""
    if isinstance(mapper, PersonalDataMapper):
        mapper.sealer = PlaintextSealer(mapper.sealer.vault)
