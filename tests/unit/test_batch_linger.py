import math

from shared.messaging.consumer import linger_wait


def test_a_record_after_a_quiet_stretch_is_handled_at_once() -> None:
    assert linger_wait(last_batch_at=-math.inf, now=100.0, linger_s=1.0, queued=1, max_batch=500) == 0.0
    assert linger_wait(last_batch_at=98.5, now=100.0, linger_s=1.0, queued=1, max_batch=500) == 0.0


def test_records_arriving_within_the_interval_wait_for_its_end_and_join_one_batch() -> None:
    assert linger_wait(last_batch_at=99.75, now=100.0, linger_s=1.0, queued=3, max_batch=500) == 0.75


def test_a_full_batch_goes_at_once_and_no_linger_means_no_wait() -> None:
    assert linger_wait(last_batch_at=99.9, now=100.0, linger_s=1.0, queued=500, max_batch=500) == 0.0
    assert linger_wait(last_batch_at=99.9, now=100.0, linger_s=0.0, queued=1, max_batch=500) == 0.0


def test_aligned_batches_start_on_the_ticks_of_one_clock_whatever_each_log_did_before() -> None:
    # Two logs, one busy a moment ago and one idle for long, both start at the next tick (100.5).
    busy = linger_wait(last_batch_at=100.0, now=100.25, linger_s=0.5, queued=2, max_batch=500, aligned=True)
    idle = linger_wait(last_batch_at=-math.inf, now=100.4, linger_s=0.5, queued=1, max_batch=500, aligned=True)
    assert (100.25 + busy, 100.4 + idle) == (100.5, 100.5)
    assert linger_wait(last_batch_at=0.0, now=100.4, linger_s=0.5, queued=500, max_batch=500, aligned=True) == 0.0
