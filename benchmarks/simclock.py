"""A virtual clock for many threads at once: discrete-event time for real, blocking code.

:class:`~benchmarks.vclock.VirtualClock` serves one execution at a time (a sleep moves the one
clock on). The scale scenario runs a thousand executions together, each a thread calling the
real step functions (which sleep, and make real HTTP calls to the emulator). Here a sleeping
thread waits for its moment; when every thread of the run is waiting, the clock jumps to the
earliest moment and wakes that thread alone. Exactly one thread runs at a time, in time order
(ties in the order they went to sleep), so a run is deterministic and as fast as the code.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["SimulatedClock"]


class SimulatedClock:
    """Epoch seconds shared by the threads started with :meth:`spawn`; see the module docstring."""

    def __init__(self, start: float) -> None:
        self._now = float(start)
        self.start = float(start)
        self._condition = threading.Condition()
        self._sleepers: list[tuple[float, int, threading.Event]] = []
        self._order = itertools.count()
        self._running = 0  # threads of the run not waiting for their moment
        self._threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def time(self) -> float:
        return self._now

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._now, tz=UTC)

    def elapsed(self) -> float:
        return self._now - self.start

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of virtual time (the calling thread must be one of the run's)."""
        self.sleep_until(self._now + max(float(seconds), 0.0))

    def sleep_until(self, moment: float) -> None:
        wake = threading.Event()
        with self._condition:
            heapq.heappush(self._sleepers, (max(moment, self._now), next(self._order), wake))
            self._running -= 1
            self._condition.notify_all()
        wake.wait()

    def spawn(self, target: Callable[[], None], name: str, at: float | None = None) -> None:
        """A thread of the run, starting at ``at`` (default: now) once :meth:`run` gets there."""

        def body() -> None:
            try:
                self.sleep_until(self._now if at is None else at)
                target()
            except BaseException as error:  # reported by the caller; the run goes on without it
                self.errors.append(error)
            finally:
                with self._condition:
                    self._running -= 1
                    self._condition.notify_all()

        with self._condition:
            self._running += 1  # until its first sleep is queued
        thread = threading.Thread(target=body, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def run(self) -> None:
        """Drive the run until every thread has finished: wake the earliest sleeper, one at a time."""
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._running == 0)
                if not self._sleepers:
                    return
                moment, _, wake = heapq.heappop(self._sleepers)
                self._now = max(self._now, moment)
                self._running += 1
            wake.set()
