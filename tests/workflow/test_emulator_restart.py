"""Nimble Studio forgets everything mid-flight (the emulator restarts) while workflows poll.

Sessions take a minute to provision here, so every workflow is still polling when the test
posts ``/_emulator/reset``. Each then meets ResourceNotFoundException on its next
GetStreamingSession and must end in one clear Failed event; the emulator (and the workflow)
serve new requests afterwards as before.
"""

from __future__ import annotations

import pytest

from local.chaos import http_json
from local.emulator import EmulatorConfig, start_emulator
from local.engine import LocalEngine
from tests.support.reliability import CLEANUP_PATH_END, Case, collect, expect_failed_event, expect_ready_event
from tests.support.waiting import wait_until
from tests.support.workflow import ENVIRONMENT, sessions_for_token

WORKFLOWS = 5
# Polls every second for up to a minute: the reset comes long before the budget runs out.
PARAMETERS = {
    "PollInitialWaitSeconds": "0",
    "PollIntervalSeconds": "1",
    "PollChecksPerInvocation": "1",
    "PollBudgetSeconds": "60",
}


@pytest.fixture(scope="module")
def emulator():
    with start_emulator(port=0, config=EmulatorConfig(provisioning_seconds=60)) as emu:
        yield emu


@pytest.fixture(scope="module")
def engine(emulator):
    with LocalEngine(
        parameter_overrides={**PARAMETERS, "NimbleEndpointUrl": emulator.url}, environment=ENVIRONMENT
    ) as running:
        yield running


def test_a_restart_mid_flight_ends_every_workflow_with_a_clear_failure(engine, emulator, unique):
    cases = [Case(f"restart-{index}", unique) for index in range(WORKFLOWS)]
    started = [(case, engine.start_execution(case.execution_input(), name=case.name)) for case in cases]

    def has_polled(arn: str) -> bool:
        return any(
            event["type"] == "TaskStateExited" and event["stateExitedEventDetails"]["name"] == "PollSession"
            for event in engine.history(arn)
        )

    def all_polling() -> bool:
        return all(has_polled(arn) for _, arn in started)

    wait_until(all_polling, what="every workflow to poll once")
    status, body = http_json("POST", f"{emulator.url}/_emulator/reset", {})
    assert (status, body) == (200, {"reset": True})

    outcomes = collect(engine, emulator, started, timeout=60)
    for case in cases:
        outcome = outcomes[case.id]
        detail = expect_failed_event(outcome, "ResourceNotFoundException", step="PollSession")
        assert detail["error"]["httpStatus"] == 404
        assert detail["error"]["retryable"] is False
        assert "not found" in detail["error"]["message"]
        # The session the workflow made, as it last saw it; the cleanup found nothing to delete.
        assert detail["sessionId"].startswith("session-")
        assert detail["session"]["state"] == "CREATE_IN_PROGRESS"
        assert detail["cleanup"] == {"sessionDeleted": True, "action": "ALREADY_GONE"}
        states = outcome.summary.states
        assert states[-len(CLEANUP_PATH_END) :] == CLEANUP_PATH_END, states
        assert outcome.summary.retries == {}
        assert outcome.history_errors("PollSession") == ["ResourceNotFoundException"]
        assert outcome.sessions == []  # forgotten by the restarted service

    # Life goes on: a new request after the restart is provisioned as usual.
    http_json("POST", f"{emulator.url}/_emulator/config", {"provisioningSeconds": 0.5})
    after = Case("after-restart", unique)
    arn = engine.start_execution(after.execution_input(), name=after.name)
    outcome = collect(engine, emulator, [(after, arn)], timeout=30)[after.id]
    expect_ready_event(outcome)
    assert len(sessions_for_token(emulator, after.token)) == 1
