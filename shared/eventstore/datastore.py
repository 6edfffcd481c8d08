"""One MongoClient per infrastructure factory, shared by its recorders."""

from __future__ import annotations

from dataclasses import dataclass
from threading import Lock

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

Document = dict[str, object]


@dataclass(frozen=True)
class MongoSettings:
    url: str = "mongodb://127.0.0.1:27017"
    database: str = "eventsourcing"
    write_concern: str = "majority"
    read_concern: str = "majority"
    server_selection_timeout_ms: int = 10_000
    poll_interval: float = 0.1

    def write_concern_obj(self) -> WriteConcern:
        w: int | str = int(self.write_concern) if self.write_concern.isdigit() else self.write_concern
        return WriteConcern(w=w)


SOCKET_TIMEOUT_MS = 60_000
_clients: dict[tuple[str, int], tuple[MongoClient[Document], int]] = {}
_clients_lock = Lock()


def _acquire(url: str, timeout_ms: int) -> MongoClient[Document]:
    """One client (one pool, one monitor) per server for all the logs of a process; counted, closed by the last."""
    with _clients_lock:
        client, users = _clients.get((url, timeout_ms), (None, 0))
        if client is None:
            # "standard" stores UUIDs as BSON binary subtype 4 and decodes them back to uuid.UUID.
            # A socket timeout: a server that stops answering (seen on FerretDB) fails the call, which the runtime
            # retries and /ready reports, instead of blocking a thread forever.
            client = MongoClient(
                url,
                uuidRepresentation="standard",
                serverSelectionTimeoutMS=timeout_ms,
                socketTimeoutMS=SOCKET_TIMEOUT_MS,
            )
        _clients[(url, timeout_ms)] = (client, users + 1)
        return client


def _release(url: str, timeout_ms: int) -> None:
    with _clients_lock:
        client, users = _clients.get((url, timeout_ms), (None, 0))
        if client is None:
            return
        if users <= 1:
            del _clients[(url, timeout_ms)]
            client.close()
        else:
            _clients[(url, timeout_ms)] = (client, users - 1)


class MongoDatastore:
    def __init__(self, settings: MongoSettings) -> None:
        self.settings = settings
        self.client: MongoClient[Document] = _acquire(settings.url, settings.server_selection_timeout_ms)
        self._closed = False
        self.database: Database[Document] = self.client.get_database(
            settings.database,
            write_concern=settings.write_concern_obj(),
            read_concern=ReadConcern(settings.read_concern),
        )

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _release(self.settings.url, self.settings.server_selection_timeout_ms)
