"""Routing errors and Step Functions failures, the handler called directly with proxy events.

No engine here: Step Functions is a real client answered by botocore's Stubber (or a fake
that raises what the Stubber cannot), so each failure is exactly the one under test.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from session_provisioning.handlers import api as api_handler
from session_provisioning.logic.requests import execution_input, request_id_for
from session_provisioning.models.request import SessionRequestBody
from session_provisioning.observability import logger
from tests.support.api import CREATE_PATH, STUDIO, FakeContext, as_reply, gateway_event, valid_body

STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:nimble-local-provision-session"
TOKEN = "token-errors"
REQUEST_ID = request_id_for(STUDIO, TOKEN)
EXECUTION_ARN = f"arn:aws:states:us-east-1:123456789012:execution:nimble-local-provision-session:{REQUEST_ID}"
STATUS_PATH = f"/studios/{STUDIO}/streaming-sessions/requests/{REQUEST_ID}"
START_DATE = "2026-11-27T10:00:00Z"


def call(method: str, path: str, **kwargs: Any):
    return as_reply(api_handler.lambda_handler(gateway_event(method, path, **kwargs), FakeContext()))


def create(body=None):
    return call("POST", CREATE_PATH, body=body or valid_body(), headers={"X-Amz-Client-Token": TOKEN})


@pytest.fixture
def sfn(monkeypatch):
    """The Step Functions client the handler uses, stubbed."""
    client = boto3.client("stepfunctions", region_name="us-east-1")
    monkeypatch.setenv("STATE_MACHINE_ARN", STATE_MACHINE_ARN)
    monkeypatch.setattr(api_handler.aws, "step_functions", client, raising=False)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def failing_sfn(monkeypatch):
    """A client whose every call raises the exception the test sets."""

    class Failing:
        error: Exception = RuntimeError("not set")

        def start_execution(self, **_: Any):
            raise self.error

        describe_execution = start_execution

    client = Failing()
    monkeypatch.setenv("STATE_MACHINE_ARN", STATE_MACHINE_ARN)
    monkeypatch.setattr(api_handler.aws, "step_functions", client, raising=False)
    return client


def describe_response(status: str, **extra: Any) -> dict[str, Any]:
    body = SessionRequestBody.model_validate(valid_body())
    return {
        "executionArn": EXECUTION_ARN,
        "stateMachineArn": STATE_MACHINE_ARN,
        "name": REQUEST_ID,
        "status": status,
        "startDate": START_DATE,
        "input": execution_input(STUDIO, TOKEN, body),
        **extra,
    }


def assert_error(reply, status: int, code: str):
    assert reply.status == status, reply
    assert reply.body["code"] == code
    assert isinstance(reply.body["message"], str)
    assert reply.body["message"]
    assert "Traceback" not in json.dumps(reply.body)
    assert reply.header("Content-Type") == "application/json"


# --- routing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", CREATE_PATH, "POST"),
        ("PUT", CREATE_PATH, "POST"),
        ("DELETE", CREATE_PATH, "POST"),
        ("POST", STATUS_PATH, "DELETE, GET"),
        ("PATCH", STATUS_PATH, "DELETE, GET"),
    ],
)
def test_wrong_method_is_405_with_allow(method, path, allow):
    reply = call(method, path)
    assert_error(reply, 405, "MethodNotAllowedException")
    assert reply.header("Allow") == allow
    assert set(reply.body) == {"code", "message"}


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/studios",
        f"/studios/{STUDIO}",
        f"/studios/{STUDIO}/streaming-sessions/requests",
        f"/studios/{STUDIO}/streaming-sessions/",
        f"/studios/{STUDIO}/streaming-sessions/requests/{REQUEST_ID}/extra",
        "/2020-08-01/studios/studio-local/streaming-sessions",
    ],
)
def test_unknown_path_is_404(path):
    reply = call("GET", path)
    assert_error(reply, 404, "ResourceNotFoundException")
    assert set(reply.body) == {"code", "message"}


# --- Step Functions says no ---------------------------------------------------------------------


def test_throttled_start_is_429_with_retry_after(sfn):
    sfn.add_client_error("start_execution", "ThrottlingException", "Rate exceeded", 400)
    reply = create()
    assert_error(reply, 429, "ThrottlingException")
    assert reply.header("Retry-After") == "1"


def test_throttled_status_read_is_429(sfn):
    sfn.add_client_error("describe_execution", "ThrottlingException", "Rate exceeded", 400)
    assert_error(call("GET", STATUS_PATH), 429, "ThrottlingException")


def test_throttled_replay_check_is_429(sfn):
    sfn.add_client_error("start_execution", "ExecutionAlreadyExists", "exists", 400)
    sfn.add_client_error("describe_execution", "ThrottlingException", "Rate exceeded", 400)
    assert_error(create(), 429, "ThrottlingException")


@pytest.mark.parametrize(
    ("error_code", "http_status", "status", "code"),
    [
        ("ExecutionLimitExceeded", 400, 503, "ServiceUnavailableException"),
        ("ServiceUnavailable", 503, 503, "ServiceUnavailableException"),
        ("InternalFailure", 500, 503, "ServiceUnavailableException"),
        ("AccessDeniedException", 400, 500, "InternalServerErrorException"),
        ("StateMachineDoesNotExist", 400, 500, "InternalServerErrorException"),
        ("InvalidExecutionInput", 400, 500, "InternalServerErrorException"),
    ],
)
def test_step_functions_faults_are_5xx(sfn, error_code, http_status, status, code):
    sfn.add_client_error("start_execution", error_code, "the service's own words", http_status)
    reply = create()
    assert_error(reply, status, code)
    assert "the service's own words" not in reply.body["message"]


def test_fault_is_logged_with_the_api_gateway_request_id(sfn, caplog):
    sfn.add_client_error("start_execution", "AccessDeniedException", "not allowed", 400)
    event = gateway_event("POST", CREATE_PATH, body=valid_body(), headers={"X-Amz-Client-Token": TOKEN})
    reply = as_reply(api_handler.lambda_handler(event, FakeContext()))
    assert reply.status == 500
    [failure] = [record for record in caplog.records if record.getMessage() == "request failed"]
    assert failure.code == "InternalServerErrorException"
    assert "AccessDeniedException" in failure.cause
    assert logger.get_correlation_id() == event["requestContext"]["requestId"]


def test_unreachable_step_functions_is_503(failing_sfn):
    failing_sfn.error = EndpointConnectionError(endpoint_url="https://states.us-east-1.amazonaws.com")
    assert_error(create(), 503, "ServiceUnavailableException")
    assert_error(call("GET", STATUS_PATH), 503, "ServiceUnavailableException")


def test_unexpected_exception_is_500_without_details(failing_sfn):
    failing_sfn.error = RuntimeError("secret internals")
    reply = create()
    assert_error(reply, 500, "InternalServerErrorException")
    assert "secret" not in reply.body["message"]


def test_missing_state_machine_arn_is_500(monkeypatch):
    monkeypatch.delenv("STATE_MACHINE_ARN", raising=False)
    assert_error(create(), 500, "InternalServerErrorException")


def test_name_taken_but_execution_unreadable_is_503(sfn):
    sfn.add_client_error("start_execution", "ExecutionAlreadyExists", "exists", 400)
    sfn.add_client_error("describe_execution", "ExecutionDoesNotExist", "gone", 400)
    assert_error(create(), 503, "ServiceUnavailableException")


def test_replay_compares_the_stored_input(sfn):
    sfn.add_client_error("start_execution", "ExecutionAlreadyExists", "exists", 400)
    sfn.add_response("describe_execution", describe_response("SUCCEEDED"), {"executionArn": EXECUTION_ARN})
    reply = create()
    assert reply.status == 202
    assert reply.body["requestId"] == REQUEST_ID

    sfn.add_client_error("start_execution", "ExecutionAlreadyExists", "exists", 400)
    sfn.add_response("describe_execution", describe_response("SUCCEEDED"), {"executionArn": EXECUTION_ARN})
    assert_error(create(valid_body(ownedBy="someone-else")), 409, "ConflictException")


# --- statuses the local workflow does not produce -----------------------------------------------


def status_for(sfn, status: str, **extra: Any) -> dict[str, Any]:
    sfn.add_response(
        "describe_execution", describe_response(status, **extra), {"executionArn": EXECUTION_ARN}
    )
    reply = call("GET", STATUS_PATH)
    assert reply.status == 200
    return reply.body


def test_timed_out_execution_is_failed(sfn):
    body = status_for(sfn, "TIMED_OUT", stopDate=START_DATE)
    assert body["status"] == "FAILED"
    assert body["error"]["code"] == "ExecutionTimedOut"


def test_pending_redrive_is_in_progress(sfn):
    assert status_for(sfn, "PENDING_REDRIVE")["status"] == "IN_PROGRESS"


def test_failure_outside_the_fail_state_keeps_the_error_name(sfn):
    body = status_for(
        sfn, "FAILED", error="States.Runtime", cause="An error occurred while executing the state"
    )
    assert body["status"] == "FAILED"
    assert body["error"] == {
        "code": "States.Runtime",
        "message": "An error occurred while executing the state",
    }
    assert body["session"] is None


def test_failure_cause_with_cleanup_and_session_id(sfn):
    cause = {
        "error": {"code": "SessionNotReadyInTime", "message": "still pending", "step": "PollSession"},
        "sessionId": "session-1",
        "cleanup": {"sessionDeleted": True, "action": "DELETED"},
    }
    body = status_for(sfn, "FAILED", error="SessionNotReadyInTime", cause=json.dumps(cause))
    assert body["error"] == cause["error"]
    assert body["sessionId"] == "session-1"
    assert body["cleanup"] == cause["cleanup"]
    assert body["session"] is None


def test_execution_of_another_studio_is_not_found(sfn):
    other = describe_response("RUNNING")
    other["input"] = json.dumps({"studioId": "studio-other", "clientToken": TOKEN, "request": valid_body()})
    sfn.add_response("describe_execution", other, {"executionArn": EXECUTION_ARN})
    assert_error(call("GET", STATUS_PATH), 404, "ResourceNotFoundException")
