"""Waiting on conditions, never on time: tests run on busy machines."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until[T](condition: Callable[[], T], timeout: float = 30, what: str = "condition") -> T:
    """The condition's first truthy value; fails the test after `timeout` seconds without one."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value
