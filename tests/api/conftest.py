"""Fixtures of the API suite: the real workflow (engine in worker processes, emulator) behind ApiFunction.

Each test uses its own client token, so tests share one engine per module and never see each
other's requests. Helpers are in tests.support.api.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from local.emulator import EmulatorConfig, RunningEmulator, start_emulator
from local.engine import LocalEngine
from tests.support.api import Api


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with start_emulator(port=0, config=EmulatorConfig(provisioning_seconds=1)) as running:
        yield running


@pytest.fixture(scope="module")
def engine(emulator: RunningEmulator) -> Iterator[LocalEngine]:
    overrides = {
        "NimbleEndpointUrl": emulator.url,
        "PollInitialWaitSeconds": 0,
        "PollIntervalSeconds": 1,
        "PollChecksPerInvocation": 1,
    }
    with LocalEngine(parameter_overrides=overrides) as running:
        yield running


@pytest.fixture(scope="module")
def api(engine: LocalEngine) -> Api:
    return Api(engine)


@pytest.fixture
def token() -> str:
    """A client token of this test's own."""
    return f"test-{uuid.uuid4().hex}"
