"""The library's recorder interfaces, implemented over a CommitLog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from threading import Event, Thread
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    IntegrityError,
    ListenNotifySubscription,
    Notification,
    ProcessRecorder,
    StoredEvent,
    Subscription,
    Tracking,
    TrackingRecorder,
)
from pymongo.collection import Collection
from pymongo.errors import CollectionInvalid, DuplicateKeyError, OperationFailure

from shared.eventstore import documents as docs
from shared.eventstore.commitlog import CommitLog
from shared.eventstore.datastore import Document, MongoDatastore
from shared.eventstore.errors import translated_driver_errors
from shared.store_collections import NAMESPACE_EXISTS


@dataclass(frozen=True)
class OwnedBatch:
    """Passed to `insert_events(..., batch=...)` by the single writer of a log (shared/messaging): the Kafka
    positions the commit consumed up to and the ids of the messages it consumed, stored in the same commit."""

    trackings: tuple[Tracking, ...]
    consumed: tuple[str, ...]


class MongoRecorder:
    def __init__(self, datastore: MongoDatastore) -> None:
        self.datastore = datastore

    def collection_names(self) -> list[str]:
        return []

    def create_table(self) -> None:
        """Creates the collections up front (MongoDB would also create them on first write).

        Only the `_id` index is needed: every read is a point lookup by `_id`.
        """
        database = self.datastore.database
        with translated_driver_errors():
            existing = set(database.list_collection_names())
            for name in self.collection_names():
                if name not in existing:
                    # Another recorder (another replica) may create it concurrently: pymongo says so with
                    # CollectionInvalid, FerretDB's reply with NamespaceExists.
                    try:
                        database.create_collection(name)
                    except CollectionInvalid:
                        pass
                    except OperationFailure as error:
                        if error.code != NAMESPACE_EXISTS:
                            raise


class MongoAggregateRecorder(MongoRecorder, AggregateRecorder):
    # An application's event log has an owner (shared/messaging); a snapshot store is written by `append` alone.
    owned_log = False

    def __init__(self, datastore: MongoDatastore, log_name: str) -> None:
        super().__init__(datastore)
        self.log = CommitLog(datastore.database, log_name, owned=self.owned_log)

    def collection_names(self) -> list[str]:
        return [self.log.log_name, self.log.streams_name]

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        self._append(stored_events, **kwargs)
        return None

    def _append(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        tracking: Tracking | None = kwargs.get("tracking")
        batch: OwnedBatch | None = kwargs.get("batch")
        if batch is not None:
            commit = self.log.append_owned(stored_events, batch.trackings, batch.consumed)
            return list(range(commit.position.first, commit.position.last + 1))
        if not stored_events and tracking is None:
            return []
        commit = self.log.append(stored_events, tracking)
        return list(range(commit.position.first, commit.position.last + 1))

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        # May briefly miss a commit whose writer died before projecting it (see README).
        return self.log.select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)


class MongoApplicationRecorder(MongoAggregateRecorder, ApplicationRecorder):
    owned_log = True

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        return self._append(stored_events, **kwargs)

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        wanted = 1 if start is None else (start if inclusive_of_start else start + 1)
        wanted = max(wanted, 1)
        notifications: list[Notification] = []
        if limit <= 0 or (stop is not None and stop < wanted):
            return notifications
        with translated_driver_errors():
            number = self.log.locate(wanted)
            # Reading commit by commit, in order, and stopping at the first gap is what
            # makes notification ids visible strictly in commit order.
            while number is not None:
                commit = self.log.read_commit(number)
                if commit is None:
                    break
                for offset, event in enumerate(commit.events):
                    notification_id = commit.position.first + offset
                    if notification_id < wanted:
                        continue
                    if stop is not None and notification_id > stop:
                        return notifications
                    if topics and event.topic not in topics:
                        continue
                    notifications.append(
                        Notification(
                            id=notification_id,
                            originator_id=event.originator_id,
                            originator_version=event.originator_version,
                            topic=event.topic,
                            state=event.state,
                        )
                    )
                    if len(notifications) == limit:
                        return notifications
                number += 1
        return notifications

    def max_notification_id(self) -> int | None:
        head = self.log.refresh_head()
        return head.last or None

    def subscribe(self, gt: int | None = None, topics: Sequence[str] = ()) -> Subscription[ApplicationRecorder]:
        return PollingSubscription(self, gt=gt, topics=topics)


class PollingSubscription(ListenNotifySubscription[MongoApplicationRecorder]):
    """Wakes the library's pull loop on a timer: FerretDB v1 has no change streams."""

    def __init__(self, recorder: MongoApplicationRecorder, gt: int | None = None, topics: Sequence[str] = ()):
        self._poll_stopped = Event()
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._poll_interval = recorder.datastore.settings.poll_interval
        self._poll_thread = Thread(target=self._poll, daemon=True)
        self._poll_thread.start()

    def _poll(self) -> None:
        while not self._poll_stopped.wait(self._poll_interval):
            self._has_been_notified.set()

    def stop(self) -> None:
        self._poll_stopped.set()
        super().stop()

    def __exit__(self, *args: object, **kwargs: Any) -> None:
        try:
            super().__exit__(*args, **kwargs)
        finally:
            self._poll_thread.join()


class MongoTrackingRecorder(MongoRecorder, TrackingRecorder):
    def __init__(self, datastore: MongoDatastore, tracking_name: str) -> None:
        super().__init__(datastore)
        self.tracking_name = tracking_name
        self.tracking: Collection[Document] = datastore.database[tracking_name]

    def collection_names(self) -> list[str]:
        return [self.tracking_name]

    def insert_tracking(self, tracking: Tracking) -> None:
        # One conditional upsert: if a record with an equal or higher id exists the filter
        # misses, the upsert collides on `_id`, and that is the IntegrityError.
        with translated_driver_errors():
            try:
                self.tracking.update_one(
                    {"_id": tracking.application_name, "n": {"$lt": tracking.notification_id}},
                    {"$set": {"n": tracking.notification_id}},
                    upsert=True,
                )
            except DuplicateKeyError as e:
                msg = f"Tracking {tracking} not greater than the recorded position"
                raise IntegrityError(msg) from e

    def max_tracking_id(self, application_name: str) -> int | None:
        with translated_driver_errors():
            doc = self.tracking.find_one({"_id": application_name})
        return None if doc is None else docs.decode_counter(self.tracking_name, doc)


class MongoProcessRecorder(MongoApplicationRecorder, ProcessRecorder):
    """Tracking goes through the commit log, so it is atomic with the events it caused."""

    def insert_tracking(self, tracking: Tracking) -> None:
        self._append([], tracking=tracking)

    def max_tracking_id(self, application_name: str) -> int | None:
        with translated_driver_errors():
            # A writer may have died between its commit and its projection: catch up first.
            self.log.catch_up(self.log.refresh_head().number)
            return self.log.max_tracking_id(application_name)
