"""One MongoClient per infrastructure factory, shared by its recorders."""

from __future__ import annotations

from dataclasses import dataclass

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


class MongoDatastore:
    def __init__(self, settings: MongoSettings) -> None:
        self.settings = settings
        # "standard" stores UUIDs as BSON binary subtype 4 and decodes them back to uuid.UUID.
        self.client: MongoClient[Document] = MongoClient(
            settings.url,
            uuidRepresentation="standard",
            serverSelectionTimeoutMS=settings.server_selection_timeout_ms,
        )
        self.database: Database[Document] = self.client.get_database(
            settings.database,
            write_concern=settings.write_concern_obj(),
            read_concern=ReadConcern(settings.read_concern),
        )

    def close(self) -> None:
        self.client.close()
