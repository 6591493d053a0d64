"""Reliability tests: faults, duplicates and bad input.

Modules that run workflows start their own emulator and engine (module scope): a LocalEngine
is process-wide, so each module's is gone before the next module's starts, and pytest-xdist
spreads the modules over its workers. Tests aim their faults at their own client tokens.
"""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def unique() -> str:
    """A short suffix that keeps the names and tokens of repeated runs apart."""
    return uuid.uuid4().hex[:10]
