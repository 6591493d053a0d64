"""Executions that end without their own cleanup and event (stopped, timed out, failed outside
every Catch) are reconciled from their history: session deleted, one Failed event."""

from __future__ import annotations

import time
import uuid

import boto3
import pytest

from local.engine import REGION
from session_provisioning.logic.reconcile import reconcile_execution
from session_provisioning.nimble.client import nimble_client
from tests.support.announcements import engine_announcements
from tests.support.workflow import STUDIO, events_for, execution_input, sessions_for_token


def status_change(description: dict) -> dict:
    """The detail of EventBridge's "Step Functions Execution Status Change" for an execution."""
    detail = {
        key: description.get(key) for key in ("executionArn", "stateMachineArn", "name", "status", "input")
    }
    detail["startDate"] = int(description["startDate"].timestamp() * 1000)
    return detail


@pytest.fixture
def reconcile(engine, emulator):
    sfn = boto3.client("stepfunctions", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    nimble = nimble_client(endpoint_url=emulator.url, region_name=REGION)

    def run(description: dict) -> dict:
        return reconcile_execution(
            status_change(description),
            sfn_client=sfn,
            nimble_client=nimble,
            events_client=events,
            announcements=engine_announcements(engine),
            claimer=str(uuid.uuid4()),  # a new invocation each time
            event_bus_name=engine.event_bus_name,
            event_source=engine.event_source,
        )

    return run


def wait_for_session(emulator, token: str) -> dict:
    deadline = time.monotonic() + 20
    while not (sessions := sessions_for_token(emulator, token)):
        assert time.monotonic() < deadline, "no session was created"
        time.sleep(0.05)
    return sessions[0]


def test_a_stopped_execution_gets_its_session_deleted_and_one_failed_event(
    engine, emulator, reconcile, unique
):
    token = f"stopped-{unique}"
    emulator.backend.add_fault(session_outcome="NEVER_READY", match={"clientToken": token})
    arn = engine.start_execution(execution_input(token, f"owner-{unique}"), name=f"req-{token}")
    session = wait_for_session(emulator, token)
    # Let CreateSession's output reach the history before stopping.
    deadline = time.monotonic() + 20
    while "PollSession" not in [
        e.get("stateEnteredEventDetails", {}).get("name") for e in engine.history(arn)
    ]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    boto3.client("stepfunctions", region_name=REGION).stop_execution(executionArn=arn, cause="test")
    description = engine.wait(arn)
    assert description["status"] == "ABORTED"
    assert events_for(engine.events(), f"req-{token}") == []  # the workflow itself said nothing

    result = reconcile(description)

    assert result["action"] == "ANNOUNCED"
    [event] = events_for(engine.events(), f"req-{token}")
    assert event["detail-type"] == "Streaming Session Failed"
    detail = event["detail"]
    assert detail["error"]["code"] == "ExecutionAborted"
    assert detail["error"]["step"] == "Execution"
    assert (detail["clientToken"], detail["studioId"], detail["sessionId"]) == (
        token,
        STUDIO,
        session["sessionId"],
    )
    assert detail["cleanup"]["sessionDeleted"] is True
    assert sessions_for_token(emulator, token)[0]["state"] in ("DELETE_IN_PROGRESS", "DELETED")


def test_an_execution_that_announced_its_end_is_left_alone(engine, emulator, reconcile, unique):
    token = f"announced-{unique}"
    arn = engine.start_execution(
        execution_input(token, f"owner-{unique}", launchProfileId="lp-unknown"), name=f"req-{token}"
    )
    description = engine.wait(arn)
    assert description["status"] == "FAILED"
    assert len(events_for(engine.events(), f"req-{token}")) == 1

    assert reconcile(description)["action"] == "NONE"
    assert len(events_for(engine.events(), f"req-{token}")) == 1
