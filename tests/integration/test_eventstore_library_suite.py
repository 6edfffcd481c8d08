"""The eventsourcing library's own recorder, factory and application test cases, on FerretDB.

The base cases are reached through their modules so that pytest does not collect the
abstract classes themselves.
"""

from __future__ import annotations

from uuid import uuid4

from eventsourcing.persistence import TrackingRecorder
from eventsourcing.tests import application as lib_application
from eventsourcing.tests import persistence as lib_persistence
from eventsourcing.utils import Environment

from shared.eventstore import (
    MongoAggregateRecorder,
    MongoApplicationRecorder,
    MongoFactory,
    MongoProcessRecorder,
    MongoTrackingRecorder,
)
from tests.integration.eventstore_fixtures import MONGODB_URL, FreshDatabase


class WithTextOriginatorIDs:
    def new_originator_id(self) -> str:
        return "test-" + str(uuid4())


class TestAggregateRecorder(FreshDatabase, lib_persistence.AggregateRecorderTestCase):
    def create_recorder(self) -> MongoAggregateRecorder:
        recorder = MongoAggregateRecorder(self.datastore(), "stored_events")
        recorder.create_table()
        return recorder


class TestAggregateRecorderWithTextOriginatorIDs(WithTextOriginatorIDs, TestAggregateRecorder):
    pass


class TestApplicationRecorder(FreshDatabase, lib_persistence.ApplicationRecorderTestCase):
    def create_recorder(self) -> MongoApplicationRecorder:
        recorder = MongoApplicationRecorder(self.datastore(), "stored_events")
        recorder.create_table()
        return recorder

    def test_insert_subscribe(self) -> None:
        # Optional in the base case because not every recorder can subscribe; ours can.
        self.optional_test_insert_subscribe()


class TestApplicationRecorderWithTextOriginatorIDs(WithTextOriginatorIDs, TestApplicationRecorder):
    pass


class TestTrackingRecorder(FreshDatabase, lib_persistence.TrackingRecorderTestCase):
    def create_recorder(self) -> MongoTrackingRecorder:
        recorder = MongoTrackingRecorder(self.datastore(), "notification_tracking")
        recorder.create_table()
        return recorder


class TestProcessRecorder(FreshDatabase, lib_persistence.ProcessRecorderTestCase):
    def create_recorder(self) -> MongoProcessRecorder:
        recorder = MongoProcessRecorder(self.datastore(), "stored_events")
        recorder.create_table()
        return recorder


class TestNonInterleavingNotificationIDs(FreshDatabase, lib_persistence.NonInterleavingNotificationIDsBaseCase):
    def create_recorder(self) -> MongoApplicationRecorder:
        recorder = MongoApplicationRecorder(self.datastore(), "stored_events")
        recorder.create_table()
        return recorder


class _SubclassedTrackingRecorder(MongoTrackingRecorder):
    pass


class TestInfrastructureFactory(FreshDatabase, lib_persistence.InfrastructureFactoryTestCase[MongoFactory]):
    def database_ready(self) -> None:
        self.env = Environment(
            "TestCase",
            {
                "PERSISTENCE_MODULE": "shared.eventstore",
                "MONGODB_URL": MONGODB_URL,
                "MONGODB_DATABASE": self.database_name,
            },
        )

    def expected_factory_class(self) -> type[MongoFactory]:
        return MongoFactory

    def expected_aggregate_recorder_class(self) -> type[MongoAggregateRecorder]:
        return MongoAggregateRecorder

    def expected_application_recorder_class(self) -> type[MongoApplicationRecorder]:
        return MongoApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[MongoTrackingRecorder]:
        return MongoTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return _SubclassedTrackingRecorder

    def expected_process_recorder_class(self) -> type[MongoProcessRecorder]:
        return MongoProcessRecorder


class TestApplication(FreshDatabase, lib_application.ApplicationTestCase):
    pass


class TestExampleApplication(FreshDatabase, lib_application.ExampleApplicationTestCase):
    expected_factory_topic = "shared.eventstore.factory:MongoFactory"
