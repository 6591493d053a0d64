"""The real state machine definition, executed by moto, with the real handlers and the emulator.

One emulator and one engine per test module. Not per session: a LocalEngine is process-wide
(moto's mock, boto3's default session), so it must be gone before another suite's
engine (or mock_aws) starts in the same process. Every scenario uses its own client token and
execution name, so scenarios run side by side and faults are aimed at one with ``match``.
"""

from __future__ import annotations

import uuid

import pytest

from local.emulator import EmulatorConfig, start_emulator
from local.engine import LocalEngine
from tests.support.api import Api
from tests.support.workflow import ENVIRONMENT, PARAMETERS, PROVISIONING_SECONDS, Invocations


@pytest.fixture(scope="module")
def emulator():
    emu = start_emulator(port=0, config=EmulatorConfig(provisioning_seconds=PROVISIONING_SECONDS))
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def events_file(tmp_path_factory):
    return tmp_path_factory.mktemp("workflow") / "events.jsonl"


@pytest.fixture(scope="module")
def engine(emulator, events_file):
    with LocalEngine(
        parameter_overrides={**PARAMETERS, "NimbleEndpointUrl": emulator.url},
        environment=ENVIRONMENT,
        events_file=events_file,
    ) as running:
        yield running


@pytest.fixture
def unique():
    """A short suffix that keeps the names and tokens of repeated runs apart."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="module")
def invocations():
    """What a module's engine reports of its asynchronous invocations (pass it to rules_engine)."""
    return Invocations()


@pytest.fixture
def api(engine):
    """ApiFunction of the module's engine, called as API Gateway calls it."""
    return Api(engine)


@pytest.fixture
def token(request):
    """A client token of its own, named after the module (test_cancel -> cancel-<hex>)."""
    return f"{request.module.__name__.rsplit('.', 1)[-1].removeprefix('test_').replace('_', '-')}-{uuid.uuid4().hex}"
