"""The read model's state is most of the process's heap: kept out of Python's full garbage collections.

An owner holds every fact of its partitions in memory (with their layers: about 60 objects per order), and a full
collection walks every object the collector tracks. Measured in the benchmark's process (15,000 orders, 850,000
tracked objects): every KPI query slower than twice its median held a full collection of 530-650 ms, and no other
did; after `gc.freeze()` of the loaded state, full collections took 2-6 ms and the slowest of 40 queries 68 ms.

Frozen objects are still freed by reference counting when the read model drops them (a revoked partition, a fact
replaced): facts are plain dicts and lists without cycles. Only cyclic garbage alive at the instant of a freeze
(a finished coroutine's frame, say) is never collected: a few objects per assignment. What the fold adds after the
load is collected as usual, so full collections grow again with it until the next load.

The fold allocates containers by the hundred per event (validated messages, facts, layers, the blobs' trees) and
reference counting frees nearly all of them: the youngest generation's collection, every 700 allocations by
default, finds almost nothing to collect. Edge + fold + packing of a 28,839-event backlog in one process (best of
3, load 4-9): 6.15-6.62 s of CPU with the default thresholds, 5.24 s with 10,000.
"""

from __future__ import annotations

import gc

# Allocations (net of deallocations) between collections of the youngest generation: CPython's default is 700.
YOUNG_COLLECTION_AFTER = 10_000


def tune_collector() -> None:
    """At the start of the process: young collections after `YOUNG_COLLECTION_AFTER` allocations, not 700."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_AFTER, middle, oldest)


def settle_loaded_state() -> None:
    """Call once a partition's state is loaded: what is alive now stays out of later full collections."""
    gc.freeze()
