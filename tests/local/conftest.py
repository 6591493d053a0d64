"""Tests of the local stack's parts (local/): the template, the engine, the Lambda runtime, the
moto patches, the API Gateway stand-in.

Modules that need a running engine start their own (module scope) with the emulator below: a
LocalEngine is process-wide, so each module's is gone before the next module's starts.
"""

from __future__ import annotations

import uuid

import pytest

from local.emulator import EmulatorConfig, start_emulator
from tests.support.workflow import PROVISIONING_SECONDS


@pytest.fixture(scope="module")
def emulator():
    with start_emulator(port=0, config=EmulatorConfig(provisioning_seconds=PROVISIONING_SECONDS)) as emu:
        yield emu


@pytest.fixture
def unique():
    """A short suffix that keeps the names and tokens of repeated runs apart."""
    return uuid.uuid4().hex[:10]
