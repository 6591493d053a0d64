"""The real definition under Nimble Studio's request-rate limits: many executions at once stay
under them by design (the account-wide call schedule), with no call throttled.

Twelve executions start together against an emulator that allows 4 GetStreamingSession calls a
second (and 2 creates). Polling once a second, unscheduled, they would make 12 calls a second;
with the schedule at 2 calls a second (1 create) every check waits for its slot instead.
"""

from __future__ import annotations

import uuid

import pytest

from local.emulator import EmulatorConfig, start_emulator
from local.engine import LocalEngine
from tests.support.waiting import wait_until
from tests.support.workflow import ENVIRONMENT, events_for, execution_input

EXECUTIONS = 12
LIMITS = {
    "enabled": True,
    "operations": {
        # Bursts leave room for calls that arrive late after their slot (a busy machine).
        "GetStreamingSession": {"ratePerSecond": 4, "burst": 8},
        "CreateStreamingSession": {"ratePerSecond": 2, "burst": 6},
    },
}
PARAMETERS = {
    "PollInitialWaitSeconds": "1",
    "PollIntervalSeconds": "1",
    "PollChecksPerInvocation": "1",
    "PollBudgetSeconds": "300",
    "NimbleGetCallsPerSecond": "2",
    "NimbleCreateCallsPerSecond": "1",
}


@pytest.fixture(scope="module")
def limited_emulator():
    config = EmulatorConfig(provisioning_seconds=2.0, rate_limits=LIMITS)
    with start_emulator(port=0, config=config) as emu:
        yield emu


@pytest.fixture(scope="module")
def engine(limited_emulator):
    with LocalEngine(
        parameter_overrides={**PARAMETERS, "NimbleEndpointUrl": limited_emulator.url},
        environment=ENVIRONMENT,
    ) as running:
        yield running


def test_a_burst_of_executions_is_never_throttled(engine, limited_emulator) -> None:
    names = [f"req-burst-{index}-{uuid.uuid4().hex[:8]}" for index in range(EXECUTIONS)]
    arns = [
        engine.start_execution(execution_input(name, f"artist-{index}"), name=name)
        for index, name in enumerate(names)
    ]
    results = [engine.wait(arn, timeout=240) for arn in arns]
    assert [r["status"] for r in results] == ["SUCCEEDED"] * EXECUTIONS
    for name in names:
        (event,) = wait_until(lambda name=name: events_for(engine.events(), name), what=f"{name}'s event")
        assert event["detail-type"] == "Streaming Session Ready"
    state = limited_emulator.backend.snapshot()
    assert state["throttledCounts"] == {}  # the service never had to say no
    assert state["callCounts"]["CreateStreamingSession"] == EXECUTIONS
    # The path: every create and every check waited for a slot of the schedule.
    history = [e["type"] for e in engine.history(arns[-1])]
    assert history.count("WaitStateEntered") >= 2  # WaitForCreateSlot, WaitBeforeFirstPoll, ...
    assert state["callCounts"]["GetStreamingSession"] >= EXECUTIONS  # at least one check each
