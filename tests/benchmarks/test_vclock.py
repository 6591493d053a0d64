"""The virtual clock the polling benchmark runs on."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from benchmarks.vclock import VirtualClock


def test_time_moves_only_when_slept():
    clock = VirtualClock(start=1_000.0)
    assert clock.time() == clock.time() == 1_000.0
    clock.sleep(2.5)
    clock.advance(0.5)
    assert clock.time() == 1_003.0
    assert clock.elapsed() == 3.0
    assert clock.start == 1_000.0


def test_now_is_aware_utc_of_the_same_instant():
    clock = VirtualClock(start=datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    clock.sleep(90)
    assert clock.now() == datetime(2026, 1, 1, 0, 1, 30, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_sleep_zero_is_allowed_and_negative_is_not():
    clock = VirtualClock(start=0)
    clock.sleep(0)
    assert clock.time() == 0
    with pytest.raises(ValueError, match="non-negative"):
        clock.sleep(-1)
    with pytest.raises(ValueError, match="epoch"):
        VirtualClock(start=-5)


def test_concurrent_sleeps_all_count():
    clock = VirtualClock(start=0)

    def work():
        for _ in range(1000):
            clock.sleep(0.5)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clock.elapsed() == 8 * 1000 * 0.5
