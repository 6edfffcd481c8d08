"""Creating collections up front. FerretDB v1 creates a missing collection inside the write that needs it, holding
its metadata lock while it waits for a SQLite connection, and under concurrent writes that deadlocks the server
(every request, ping included, then waits forever — seen here). Created one at a time before use, they never
take that path."""

from __future__ import annotations

from typing import Any

from pymongo.errors import CollectionInvalid, OperationFailure

NAMESPACE_EXISTS = 48


async def create_collection(database: Any, name: str) -> None:
    """Create `name`; another replica creating it at the same moment is fine (NamespaceExists, code 48)."""
    try:
        await database.create_collection(name)
    except CollectionInvalid:
        pass
    except OperationFailure as error:
        if error.code != NAMESPACE_EXISTS:
            raise
