"""One producer and one reader of a request's outcome: what they write, GET reads back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from session_provisioning.logic.failures import describe_failure
from session_provisioning.logic.outcome import (
    FailureCause,
    ReadyOutput,
    execution_ending,
    failed_outcome,
    ready_by_from_input,
)
from session_provisioning.logic.requests import get_request_status, request_id_for
from session_provisioning.logic.steps import ready_detail
from session_provisioning.models.events import Cleanup, FailureError
from session_provisioning.models.session import StreamingSession
from session_provisioning.models.workflow import ProvisioningRequest, WorkflowState
from tests.support.aws_history import AwsHistory, FakeStepFunctions

ROOT = Path(__file__).resolve().parents[3]
DEFINITION = ROOT / "statemachine" / "provision_session.asl.json"
REQUEST_ID = request_id_for("studio-local", "tok")
STUDIO = "studio-local"
REQUESTED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
INPUT = json.dumps({"studioId": STUDIO, "clientToken": "tok", "request": {"launchProfileId": "lp-local"}})
SESSION = {"sessionId": "session-1", "state": "CREATE_FAILED", "statusCode": "INSUFFICIENT_CAPACITY"}


STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:provision"


class OneExecution:
    """DescribeExecution of one execution, as Step Functions answers it."""

    def __init__(self, description: dict[str, str]) -> None:
        self.description = description

    def describe_execution(self, executionArn: str) -> dict[str, str]:
        return {"executionArn": executionArn, **self.description}

    def get_paginator(self, name: str) -> FakeStepFunctions:
        """The history GET reads of an ABORTED execution: started, then stopped."""
        history = AwsHistory().aborted(self.description.get("error", ""), self.description.get("cause", ""))
        return FakeStepFunctions(history.events).get_paginator(name)


def status_of(status: str, **description: str):
    """What GET says of an execution with this status (and error, cause, output)."""
    execution = {"status": status, "input": INPUT, **description}
    return get_request_status(STUDIO, REQUEST_ID, OneExecution(execution), STATE_MACHINE)


def test_the_fallback_pass_states_cause_reads_back_as_its_error():
    """DescribeUnexpectedFailure (the ASL's own fallback) writes a cause GET can read."""
    definition = json.loads(DEFINITION.read_text())
    parameters = definition["States"]["DescribeUnexpectedFailure"]["Parameters"]
    status = status_of("FAILED", error="InternalError", cause=parameters["cause"])
    assert status.status == "FAILED"
    assert status.error.code == "InternalError"
    assert status.error.message == parameters["detail"]["error"]["message"]
    assert status.error.step == "DescribeFailure"


def test_what_describe_failure_writes_get_reads_back():
    event = {
        "requestId": REQUEST_ID,
        "requestedAt": "2026-01-02T03:04:05Z",
        "state": {
            "request": {
                "requestId": REQUEST_ID,
                "requestedAt": "2026-01-02T03:04:05Z",
                "studioId": STUDIO,
                "clientToken": "tok",
                "launchProfileId": "lp-local",
            },
            "polling": {"initialWaitSeconds": 0, "intervalSeconds": 1, "budgetSeconds": 5},
            "created": {"sessionId": "session-1", "session": SESSION},
            "poll": {"outcome": "FAILED", "checks": 1, "session": SESSION},
            "cleanup": {"action": "DELETED", "state": "DELETED"},
        },
    }
    described = describe_failure(event)
    status = status_of("FAILED", error=described["detail"]["error"]["code"], cause=described["cause"])
    assert status.error.to_json() == described["detail"]["error"]
    assert status.session_id == described["detail"]["sessionId"] == "session-1"
    assert status.cleanup.to_json() == described["detail"]["cleanup"]


def test_get_shows_only_what_the_producer_writes():
    """A member no producer writes (a session object, say) is not passed on as if it were."""
    cause = FailureCause(error=FailureError(code="X", message="m"), sessionId="session-1").to_json()
    status = status_of("FAILED", error="X", cause=json.dumps({**cause, "session": SESSION}))
    assert status.session_id == "session-1"
    assert status.session is None


def test_ready_status_is_read_through_its_own_model():
    request = ProvisioningRequest.model_validate(
        {
            "requestId": REQUEST_ID,
            "requestedAt": REQUESTED_AT,
            "studioId": STUDIO,
            "clientToken": "tok",
            "launchProfileId": "lp-local",
        }
    )
    session = StreamingSession.model_validate({"sessionId": "session-1", "state": "READY"})
    output = ready_detail(WorkflowState(request=request), session, REQUESTED_AT).to_json()
    status = status_of("SUCCEEDED", output=json.dumps(output))
    assert status.status == "READY"
    assert status.session_id == "session-1"
    assert status.session == session.to_json()
    assert set(ReadyOutput.model_fields) <= {
        name
        for name in type(ready_detail(WorkflowState(request=request), session, REQUESTED_AT)).model_fields
    }


@pytest.mark.parametrize(
    ("status", "code"), [("ABORTED", "ExecutionAborted"), ("TIMED_OUT", "ExecutionTimedOut")]
)
def test_endings_of_step_functions_are_named_the_same_for_get_and_the_reconciler(status, code):
    assert status_of(status).error.code == code == execution_ending(status).code


def test_failed_outcome_names_the_session_in_the_detail_and_the_cause():
    outcome = failed_outcome(
        request_id=REQUEST_ID,
        identifiers={"studioId": STUDIO, "clientToken": "tok"},
        error=FailureError(code="SessionNotReadyInTime", message="late"),
        session=SESSION,
        cleanup=Cleanup(sessionDeleted=True, action="DELETED"),
        requested_at=REQUESTED_AT,
        failed_at=REQUESTED_AT,
    )
    assert outcome.detail.session_id == outcome.cause.session_id == "session-1"
    assert json.loads(outcome.to_json()["cause"])["cleanup"] == {"sessionDeleted": True, "action": "DELETED"}


@pytest.mark.parametrize(
    ("execution_input", "expected"),
    [
        ({"request": {"readyBy": "2030-01-31T10:00:00+01:00"}}, "2030-01-31T09:00:00Z"),
        ({"request": {"readyBy": "tomorrow"}}, None),
        ({"request": {"readyBy": 5}}, None),
        ({"request": "not an object"}, None),
        ("not an object", None),
    ],
)
def test_ready_by_is_read_from_an_input_that_may_not_be_valid(execution_input, expected):
    assert ready_by_from_input(execution_input) == expected
