"""The stream filter's promise: a stream added is always found; one never added is mostly not."""

from __future__ import annotations

from uuid import uuid4

import pytest

from shared.eventstore.stream_filter import StreamFilter


def test_every_stream_added_is_found_and_few_others_are() -> None:
    streams = StreamFilter(bits=1 << 16)
    added = [f"u{uuid4().hex}" for _ in range(5_000)]
    for stream_id in added:
        streams.add(stream_id)
    assert all(stream_id in streams for stream_id in added)
    false_positives = sum(f"u{uuid4().hex}" in streams for _ in range(10_000))
    assert false_positives < 500  # ~1.2 % expected at 5,000 streams in 65,536 bits with 4 hashes


def test_a_stored_filter_reads_back_the_same_with_the_commit_it_covers() -> None:
    streams = StreamFilter(bits=1 << 12)
    streams.add("u1")
    document = {"_id": "@streams-filter", **streams.to_update(upto=7)["$set"]}
    restored, upto = StreamFilter.from_document(document)
    assert upto == 7 and "u1" in restored and restored.bits == 1 << 12
    assert not restored.dirty


def test_a_size_that_is_not_whole_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="multiple of 8 bits"):
        StreamFilter(bits=1001)
