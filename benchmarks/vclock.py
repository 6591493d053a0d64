"""A virtual clock: time moves only when something sleeps or spends modelled latency.

The polling benchmark runs the real state machine through moto with every Wait state, every
in-Lambda sleep and every modelled latency turned into :meth:`VirtualClock.sleep`, so twenty
minutes of provisioning take a few real seconds, and the same run gives the same numbers.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

__all__ = ["VirtualClock"]


class VirtualClock:
    """Epoch seconds that advance only through :meth:`sleep` / :meth:`advance`. Thread-safe.

    ``time()`` is what the Nimble emulator's ``backend.clock`` expects, ``now()`` what the
    step functions' ``now`` parameter expects and ``sleep()`` what their ``sleep`` expects.
    """

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        if start < 0:
            raise ValueError("start must be epoch seconds >= 0")
        self._now = float(start)
        self._start = float(start)
        self._lock = threading.Lock()

    @property
    def start(self) -> float:
        return self._start

    def time(self) -> float:
        """Epoch seconds (like :func:`time.time`)."""
        with self._lock:
            return self._now

    def now(self) -> datetime:
        """An aware UTC datetime (like ``datetime.now(UTC)``)."""
        return datetime.fromtimestamp(self.time(), tz=UTC)

    def elapsed(self) -> float:
        """Virtual seconds since the clock was made."""
        return self.time() - self._start

    def sleep(self, seconds: float) -> None:
        """Advance by ``seconds`` without waiting (like :func:`time.sleep`, but instant)."""
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        with self._lock:
            self._now += float(seconds)

    advance = sleep

    def __repr__(self) -> str:
        return f"VirtualClock(elapsed={self.elapsed():.3f})"
