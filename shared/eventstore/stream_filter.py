"""Which streams a log holds, as a Bloom filter: lets its owner know that an aggregate is new without a read.

Every new order, reservation or shipment used to cost a lookup that found nothing (shipping: five per order,
one each for the Shipment, the order's shipments, its tracking number and two early-arrival queues). The owner of
a log sees every commit of it (its own, and those it takes in), so it can keep the set of stream ids; a Bloom
filter keeps that set in fixed memory. "Not in the filter" is certain: the stream does not exist. "In it" may
be a false positive, and then the owner reads as before: a filter that fills up degrades to the old cost, never
to a wrong answer.

The owner stores the filter with its checkpoint, as one document that says which commits it covers (`upto`), and
a next owner adds the streams of the commits after that. So whatever document it finds (even one a previous owner
wrote late) is a consistent pair of bits and position, and the filter it builds covers the whole log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from bson import Binary

FILTER_ID = "@streams-filter"
# 2^20 bits (128 KiB; FerretDB writes it in ~18 ms): ~1 % false positives at 100,000 streams, 8 % at 200,000.
DEFAULT_BITS = 1 << 20
HASHES = 4


class StreamFilter:
    def __init__(self, bits: int = DEFAULT_BITS, hashes: int = HASHES, data: bytes | None = None) -> None:
        if bits <= 0 or bits % 8:
            msg = f"a stream filter needs a positive multiple of 8 bits, not {bits}"
            raise ValueError(msg)
        self.bits = bits
        self.hashes = hashes
        self._data = bytearray(data) if data is not None else bytearray(bits // 8)
        if len(self._data) * 8 != bits:
            msg = f"a stream filter of {bits} bits cannot hold {len(self._data)} bytes"
            raise ValueError(msg)
        # Whether it covers more than what is stored (set by its owner, shared/eventstore/commitlog.py).
        self.dirty = False

    def _positions(self, stream_id: str) -> Iterable[int]:
        digest = hashlib.blake2b(stream_id.encode(), digest_size=16).digest()
        first = int.from_bytes(digest[:8], "little")
        step = int.from_bytes(digest[8:], "little") | 1
        return ((first + i * step) % self.bits for i in range(self.hashes))

    def add(self, stream_id: str) -> None:
        for position in self._positions(stream_id):
            self._data[position // 8] |= 1 << (position % 8)

    def __contains__(self, stream_id: object) -> bool:
        if not isinstance(stream_id, str):
            return False
        return all(self._data[p // 8] & (1 << (p % 8)) for p in self._positions(stream_id))

    def to_update(self, upto: int) -> dict[str, Any]:
        """The upsert that stores it (whole: the bits and the position they cover change together)."""
        return {"$set": {"bits": Binary(bytes(self._data)), "m": self.bits, "k": self.hashes, "upto": upto}}

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> tuple[StreamFilter, int]:
        """The filter and the last commit it covers."""
        stored = cls(int(document["m"]), int(document["k"]), bytes(document["bits"]))
        return stored, int(document["upto"])
