"""Event-log throughput: this module on MongoDB/FerretDB against the library's SQLite recorder.

Run: ``MONGODB_URL=mongodb://127.0.0.1:27018 uv run python -m benchmarks.eventlog``
(``--long-stream`` runs only the long-stream measure).
Throughput figures are events per second; the ratio is ours / SQLite (file in a temp dir).
The long-stream figures are milliseconds per operation on one aggregate with a long history,
the case of a hot StockItem touched by every order.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from uuid import uuid4

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from pymongo import MongoClient

from shared.eventstore.datastore import MongoDatastore, MongoSettings
from shared.eventstore.recorders import MongoApplicationRecorder

STATE = b'{"amount":"10.00","timestamp":"2026-01-01T00:00:00+00:00","note":"benchmark"}'
# Events per batch size: enough for a stable rate, small enough to stay under ~2 minutes.
EVENTS_PER_BATCH_SIZE = {1: 300, 10: 2_000, 100: 10_000}


def insert_rate(recorder: ApplicationRecorder, batch: int, total: int) -> float:
    started = time.perf_counter()
    for _ in range(total // batch):
        originator_id = uuid4()
        recorder.insert_events([StoredEvent(originator_id, v, "bench.Event", STATE) for v in range(1, batch + 1)])
    return total / (time.perf_counter() - started)


def replay_rate(recorder: ApplicationRecorder) -> float:
    """Reads the whole notification log in pages of 500, as a projection catching up would."""
    started, count, last = time.perf_counter(), 0, 0
    while page := recorder.select_notifications(start=last, limit=500, inclusive_of_start=False):
        count += len(page)
        last = page[-1].id
    return count / (time.perf_counter() - started)


def stream_read_rate(recorder: ApplicationRecorder, originator_ids: list[object], events: int) -> float:
    started = time.perf_counter()
    for originator_id in originator_ids:
        recorder.select_events(originator_id)  # type: ignore[arg-type]
    return events / (time.perf_counter() - started)


def measure(recorder: ApplicationRecorder) -> dict[str, float]:
    figures = {f"insert batch={b}": insert_rate(recorder, b, n) for b, n in EVENTS_PER_BATCH_SIZE.items()}
    figures["select_notifications replay"] = replay_rate(recorder)
    # Aggregate loads: 100 streams of 100 events each.
    ids = [uuid4() for _ in range(100)]
    for originator_id in ids:
        recorder.insert_events([StoredEvent(originator_id, v, "bench.Event", STATE) for v in range(1, 101)])
    figures["select_events (aggregate load)"] = stream_read_rate(recorder, ids, 100 * 100)  # type: ignore[arg-type]
    return figures


# One aggregate with this many events, built in commits of LONG_STREAM_BATCH (the set-up is not timed).
LONG_STREAM_EVENTS = 2_000
LONG_STREAM_BATCH = 100
LONG_STREAM_SAMPLES = 50


def long_stream(recorder: ApplicationRecorder) -> dict[str, float]:
    """Milliseconds to read the last 10 events and to append 1 event, on a 2,000-event stream."""
    originator_id = uuid4()
    for start in range(1, LONG_STREAM_EVENTS + 1, LONG_STREAM_BATCH):
        recorder.insert_events(
            [StoredEvent(originator_id, v, "bench.Event", STATE) for v in range(start, start + LONG_STREAM_BATCH)]
        )
    # Loading an aggregate from a snapshot at version 1990: only the events after it.
    started = time.perf_counter()
    for _ in range(LONG_STREAM_SAMPLES):
        tail = recorder.select_events(originator_id, gt=LONG_STREAM_EVENTS - 10)
    read_ms = (time.perf_counter() - started) * 1000 / LONG_STREAM_SAMPLES
    assert [e.originator_version for e in tail] == list(range(LONG_STREAM_EVENTS - 9, LONG_STREAM_EVENTS + 1))
    started = time.perf_counter()
    for v in range(LONG_STREAM_EVENTS + 1, LONG_STREAM_EVENTS + 1 + LONG_STREAM_SAMPLES):
        recorder.insert_events([StoredEvent(originator_id, v, "bench.Event", STATE)])
    append_ms = (time.perf_counter() - started) * 1000 / LONG_STREAM_SAMPLES
    return {
        f"append 1 event at v>{LONG_STREAM_EVENTS}": append_ms,
        f"select_events gt={LONG_STREAM_EVENTS - 10}": read_ms,
    }


def with_mongo(run: Callable[[ApplicationRecorder], dict[str, float]]) -> dict[str, float]:
    url = os.environ.get("MONGODB_URL", "mongodb://127.0.0.1:27017")
    database = "es_bench_" + uuid4().hex[:12]
    datastore = MongoDatastore(MongoSettings(url=url, database=database))
    try:
        recorder = MongoApplicationRecorder(datastore, "bench_events")
        recorder.create_table()
        return run(recorder)
    finally:
        datastore.close()
        client: MongoClient[dict[str, object]] = MongoClient(url)
        client.drop_database(database)
        client.close()


def with_sqlite(run: Callable[[ApplicationRecorder], dict[str, float]]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        datastore = SQLiteDatastore(os.path.join(tmp, "bench.db"))
        try:
            recorder = SQLiteApplicationRecorder(datastore)
            recorder.create_table()
            return run(recorder)
        finally:
            datastore.close()


def main() -> None:
    started = time.perf_counter()
    if "--long-stream" not in sys.argv[1:]:
        ours = with_mongo(measure)
        sqlite = with_sqlite(measure)
        print(f"{'events/s':34} {'ours':>10} {'sqlite':>10} {'ours/sqlite':>12}")
        for name, rate in ours.items():
            print(f"{name:34} {rate:10.0f} {sqlite[name]:10.0f} {rate / sqlite[name]:12.2f}")
    ours = with_mongo(long_stream)
    sqlite = with_sqlite(long_stream)
    print(f"{f'long stream ({LONG_STREAM_EVENTS} events), ms/op':34} {'ours':>10} {'sqlite':>10} {'ours/sqlite':>12}")
    for name, ms in ours.items():
        print(f"{name:34} {ms:10.2f} {sqlite[name]:10.2f} {ms / sqlite[name]:12.1f}")
    print(f"(total run {time.perf_counter() - started:.0f}s)")


if __name__ == "__main__":
    main()
