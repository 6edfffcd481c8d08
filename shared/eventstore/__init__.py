"""MongoDB (and FerretDB v1) persistence for the `eventsourcing` library.

Select it with ``PERSISTENCE_MODULE=shared.eventstore``: the library looks for the one
InfrastructureFactory subclass in this namespace, which is MongoFactory.
See README.md in this package for settings and storage layout.
"""

from shared.eventstore.errors import CorruptDocumentError, DocumentSizeError
from shared.eventstore.factory import MongoFactory
from shared.eventstore.recorders import (
    MongoAggregateRecorder,
    MongoApplicationRecorder,
    MongoProcessRecorder,
    MongoTrackingRecorder,
)

Factory = MongoFactory

__all__ = [
    "CorruptDocumentError",
    "DocumentSizeError",
    "Factory",
    "MongoAggregateRecorder",
    "MongoApplicationRecorder",
    "MongoFactory",
    "MongoProcessRecorder",
    "MongoTrackingRecorder",
]
