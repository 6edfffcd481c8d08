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
