from pymongo import monitoring

from shared.telemetry.store_commands import StoreCommandCounter


def started(command: dict[str, object]) -> monitoring.CommandStartedEvent:
    return monitoring.CommandStartedEvent(
        command, "db", request_id=1, connection_id=("127.0.0.1", 27017), operation_id=1
    )


def test_write_commands_count_the_documents_they_carry_and_others_count_once() -> None:
    counter = StoreCommandCounter()

    counter.started(started({"update": "summaries", "updates": [{"q": {"_id": i}} for i in range(3)]}))
    counter.started(started({"insert": "commits", "documents": [{"_id": 1}, {"_id": 2}]}))
    counter.started(started({"insert": "commits", "documents": [{"_id": 3}]}))
    counter.started(started({"find": "summaries", "filter": {"_id": 1}}))

    assert counter.snapshot() == {("update", "summaries"): 1, ("insert", "commits"): 2, ("find", "summaries"): 1}
    assert counter.statements_snapshot() == {
        ("update", "summaries"): 3,
        ("insert", "commits"): 3,
        ("find", "summaries"): 1,
    }
