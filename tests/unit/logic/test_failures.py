import json
from datetime import timedelta

import pytest

from session_provisioning import errors
from session_provisioning.logic.failures import describe_failure
from tests.support.workflow_state import REQUESTED_AT, session, workflow_state

FAILED_AT = REQUESTED_AT + timedelta(seconds=30)


def lambda_cause(exception: Exception) -> str:
    """The Cause Step Functions records for an exception raised in a Lambda task."""
    return json.dumps(
        {"errorMessage": str(exception), "errorType": type(exception).__name__, "stackTrace": ["..."]}
    )


def describe(state, execution_input=None):
    return describe_failure(
        {
            "state": state,
            "requestId": "req-1",
            "requestedAt": "2026-11-27T10:00:00.000Z",
            "executionInput": execution_input or {},
        },
        now=FAILED_AT,
    )


CREATED = {"sessionId": "session-1", "session": session()}


def test_api_error_from_create_names_code_status_retryable_and_step():
    error = errors.ServiceQuotaExceededException("quota", step="CreateSession", http_status=402)
    state = workflow_state(
        caught={"CreateSession": {"Error": "ServiceQuotaExceededException", "Cause": lambda_cause(error)}}
    )
    failure = describe(state)
    detail = failure["detail"]
    assert detail["error"] == {
        "code": "ServiceQuotaExceededException",
        "message": "quota",
        "step": "CreateSession",
        "httpStatus": 402,
        "retryable": False,
    }
    assert detail["requestId"] == "req-1"
    assert detail["clientToken"] == "token-1"
    assert "sessionId" not in detail
    assert "cleanup" not in detail
    assert detail["timings"] == {
        "requestedAt": "2026-11-27T10:00:00Z",
        "failedAt": "2026-11-27T10:00:30Z",
        "secondsElapsed": 30.0,
    }
    only_attempt = {
        "index": 0,
        "ec2InstanceType": None,
        "clientToken": "token-1",
        "sessionId": None,
        "outcome": "ERROR",
        "code": "ServiceQuotaExceededException",
    }
    assert detail["attempts"] == [only_attempt]
    assert json.loads(failure["cause"]) == {"error": detail["error"], "attempts": [only_attempt]}


def test_exhausted_throttling_on_poll_is_retryable_and_reports_the_cleanup():
    error = errors.ThrottlingException("slow down", step="PollSession", http_status=429)
    state = workflow_state(
        created=CREATED,
        caught={"PollSession": {"Error": "ThrottlingException", "Cause": lambda_cause(error)}},
        cleanup={"action": "DELETED", "state": "DELETE_IN_PROGRESS"},
    )
    detail = describe(state)["detail"]
    assert detail["error"]["retryable"] is True
    assert detail["error"]["step"] == "PollSession"
    assert detail["sessionId"] == "session-1"
    assert detail["cleanup"] == {"sessionDeleted": True, "action": "DELETED"}


@pytest.mark.parametrize(
    "status_code", ["INSUFFICIENT_CAPACITY", "NETWORK_CONNECTION_ERROR", "AMI_VALIDATION_ERROR"]
)
def test_create_failed_reports_the_status_code_and_state(status_code):
    failed = session("CREATE_FAILED", status_code=status_code, statusMessage="no luck")
    state = workflow_state(created=CREATED, poll={"outcome": "FAILED", "checks": 2, "session": failed})
    error = describe(state)["detail"]["error"]
    assert error == {
        "code": status_code,
        "message": "no luck",
        "state": "CREATE_FAILED",
        "step": "PollSession",
        "retryable": False,
    }


def test_budget_exhausted_is_session_not_ready_in_time():
    state = workflow_state(
        created=CREATED,
        poll={"outcome": "TIMED_OUT", "checks": 175, "session": session()},
        cleanup={"action": "DELETED"},
    )
    detail = describe(state)["detail"]
    assert detail["error"]["code"] == "SessionNotReadyInTime"
    assert detail["error"]["state"] == "CREATE_IN_PROGRESS"
    assert detail["cleanup"]["sessionDeleted"] is True


def test_other_states_are_unexpected():
    state = workflow_state(
        created=CREATED,
        poll={"outcome": "UNEXPECTED", "checks": 3, "session": session("DELETED")},
        cleanup={"action": "DELETED", "state": "DELETED"},
    )
    error = describe(state)["detail"]["error"]
    assert (error["code"], error["state"]) == ("UnexpectedSessionState", "DELETED")


def test_a_failed_cleanup_is_reported_not_hidden():
    denied = errors.AccessDeniedException("no", step="DeleteSession", http_status=403)
    state = workflow_state(
        created=CREATED,
        poll={"outcome": "TIMED_OUT", "checks": 175, "session": session()},
        cleanup={"Error": "AccessDeniedException", "Cause": lambda_cause(denied)},
    )
    cleanup = describe(state)["detail"]["cleanup"]
    assert cleanup == {
        "sessionDeleted": False,
        "action": "DELETE_FAILED",
        "message": "AccessDeniedException: no",
    }


def test_invalid_input_is_described_from_the_raw_execution_input():
    error = errors.ValidationException(
        "request.launchProfileId: Field required",
        step="ValidateRequest",
        http_status=400,
        fields=["request.launchProfileId"],
    )
    raw = {"studioId": "studio-local", "clientToken": "tok", "request": {"ownedBy": 5}}
    state = dict(
        raw, caught={"ValidateRequest": {"Error": "ValidationException", "Cause": lambda_cause(error)}}
    )
    detail = describe(state, execution_input=raw)["detail"]
    assert detail["error"]["fields"] == ["request.launchProfileId"]
    assert detail["error"]["code"] == "ValidationException"
    assert (detail["studioId"], detail["clientToken"]) == ("studio-local", "tok")
    assert "launchProfileId" not in detail
    assert "ownedBy" not in detail  # not a string: not echoed


def test_platform_errors_keep_their_name():
    state = workflow_state(caught={"CreateSession": {"Error": "States.Timeout", "Cause": "Task timed out"}})
    error = describe(state)["detail"]["error"]
    assert error == {
        "code": "States.Timeout",
        "message": "Task timed out",
        "step": "CreateSession",
        "retryable": True,
    }


def test_an_unanticipated_exception_is_an_internal_error_with_its_type():
    cause = json.dumps({"errorMessage": "'sessionId'", "errorType": "KeyError", "stackTrace": []})
    state = workflow_state(created=CREATED, caught={"PollSession": {"Error": "KeyError", "Cause": cause}})
    error = describe(state)["detail"]["error"]
    assert error["code"] == "InternalError"
    assert error["message"] == "KeyError: 'sessionId'"
    assert error["retryable"] is False


def test_an_unconfirmed_deletion_does_not_claim_the_session_is_gone():
    state = workflow_state(
        created=CREATED,
        poll={"outcome": "TIMED_OUT", "checks": 175, "session": session()},
        cleanup={"action": "DELETE_REQUESTED", "state": "DELETE_IN_PROGRESS"},
    )
    cleanup = describe(state)["detail"]["cleanup"]
    assert cleanup == {
        "sessionDeleted": False,
        "action": "DELETE_REQUESTED",
        "message": "Deletion was requested but not yet confirmed (last state DELETE_IN_PROGRESS).",
    }


def test_the_earliest_steps_error_is_the_cause_whatever_the_key_order():
    throttled = errors.ThrottlingException("slow down", step="CreateSession", http_status=429)
    denied = errors.AccessDeniedException("no", step="CreateSession", http_status=403)
    state = workflow_state(
        caught={
            "FindCreatedSession": {"Error": "AccessDeniedException", "Cause": lambda_cause(denied)},
            "CreateSession": {"Error": "ThrottlingException", "Cause": lambda_cause(throttled)},
        }
    )
    assert describe(state)["detail"]["error"]["code"] == "ThrottlingException"


def test_a_cause_that_is_not_text_is_still_described():
    # moto hands some Catch causes over as objects; AWS gives text. Either way, no crash.
    state = workflow_state(
        created=CREATED,
        caught={"PublishReady": {"Error": "EventBridge.FailedEntry", "Cause": {"FailedEntryCount": 1}}},
    )
    assert describe(state)["detail"]["error"]["code"] == "EventBridge.FailedEntry"
