"""Errors of the MongoDB persistence module, rooted in the library's PEP 249 hierarchy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from eventsourcing.persistence import DatabaseError, DataError, OperationalError
from pymongo.errors import ConnectionFailure, DocumentTooLarge, PyMongoError


class CorruptDocumentError(DataError):
    """A document in one of our collections does not have the layout this module writes."""

    def __init__(self, collection: str, doc_id: object, reason: str) -> None:
        self.collection = collection
        self.doc_id = doc_id
        super().__init__(
            f"Corrupted or foreign document in collection '{collection}' (commit/_id {doc_id!r}): {reason}"
        )


class DocumentSizeError(DataError):
    """A commit, or a stream it extends, would not fit in one MongoDB document (16 MiB)."""


@contextmanager
def translated_driver_errors() -> Iterator[None]:
    """Let callers catch the library's exceptions rather than pymongo's."""
    try:
        yield
    except DocumentTooLarge as e:
        raise DocumentSizeError(str(e)) from e
    except ConnectionFailure as e:
        raise OperationalError(str(e)) from e
    except PyMongoError as e:
        raise DatabaseError(str(e)) from e
