import json
from datetime import timedelta
from pathlib import Path

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    IncompleteReadError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.stub import ANY

from session_provisioning import errors
from session_provisioning.logic.steps import (
    create_session,
    delete_session,
    delete_token,
    poll_session,
    validate_request,
)
from session_provisioning.models.workflow import PollingPolicy, PollOutcome, WorkflowState
from tests.support.workflow_state import REQUESTED_AT, session, workflow_state

CREATED = {"sessionId": "session-1", "session": session()}


def test_validate_request_returns_request_and_policy():
    result = validate_request(
        {
            "execution": {
                "studioId": "studio-local",
                "clientToken": "tok",
                "request": {"launchProfileId": "lp-local", "tags": {"a": "b"}},
            },
            "requestId": "req-1",
            "requestedAt": "2026-11-27T10:00:00.000Z",
            "polling": {
                "initialWaitSeconds": 60,
                "intervalSeconds": 10,
                "checksPerPoll": 1,
                "budgetSeconds": 1800,
            },
        }
    )
    assert result["request"] == {
        "requestId": "req-1",
        "requestedAt": "2026-11-27T10:00:00Z",
        "studioId": "studio-local",
        "clientToken": "tok",
        "launchProfileId": "lp-local",
        "tags": {"a": "b"},
    }
    assert result["polling"]["maxChecks"] == 175


def test_validate_request_rejects_with_field_names():
    with pytest.raises(errors.ValidationException) as caught:
        validate_request(
            {
                "execution": {"studioId": "s", "clientToken": "", "request": {"ec2InstanceType": "x"}},
                "requestId": "r",
                "requestedAt": "2026-11-27T10:00:00Z",
                "polling": {"initialWaitSeconds": 1, "intervalSeconds": 1, "budgetSeconds": 3},
            }
        )
    detail = caught.value.detail
    assert detail["code"] == "ValidationException"
    assert set(detail["fields"]) == {"clientToken", "request.launchProfileId", "request.ec2InstanceType"}
    assert detail["step"] == "ValidateRequest"
    assert type(caught.value).__name__ == "ValidationException"


def test_validate_request_rejects_a_bad_polling_policy():
    with pytest.raises(errors.InvalidPollingPolicy):
        validate_request(
            {
                "execution": {"studioId": "s", "clientToken": "t", "request": {"launchProfileId": "lp"}},
                "requestId": "r",
                "requestedAt": "2026-11-27T10:00:00Z",
                "polling": {"initialWaitSeconds": -1, "intervalSeconds": 1, "budgetSeconds": 3},
            }
        )


@pytest.mark.parametrize(
    ("initial", "interval", "budget", "expected"),
    [(60, 10, 1800, 175), (0, 10, 1800, 181), (0, 1, 3, 4), (5, 1, 3, 1), (0, 0, 3, 4)],
)
def test_max_checks_follows_the_budget(initial, interval, budget, expected):
    policy = PollingPolicy(initialWaitSeconds=initial, intervalSeconds=interval, budgetSeconds=budget)
    assert policy.max_checks == expected


def test_create_session_sends_the_request_token(client, stub):
    stub.add_response(
        "create_streaming_session",
        {"session": session()},
        {
            "studioId": "studio-local",
            "clientToken": "token-1",
            "launchProfileId": "lp-local",
            "ownedBy": "artist",
        },
    )
    created = create_session(WorkflowState.model_validate(workflow_state()), client)
    assert created.session_id == "session-1"
    assert created.to_json()["session"]["createdAt"] == "2026-11-27T10:00:00Z"


@pytest.mark.parametrize(
    ("code", "status", "retryable"),
    [
        ("ThrottlingException", 429, True),
        ("InternalServerErrorException", 500, True),
        ("ConflictException", 409, True),
        ("ServiceQuotaExceededException", 402, False),
        ("AccessDeniedException", 403, False),
        ("ResourceNotFoundException", 404, False),
        ("ValidationException", 400, False),
    ],
)
def test_create_session_reraises_under_the_service_error_name(client, stub, code, status, retryable):
    stub.add_client_error("create_streaming_session", code, "boom", status)
    with pytest.raises(errors.WorkflowError) as caught:
        create_session(WorkflowState.model_validate(workflow_state()), client)
    assert type(caught.value).__name__ == code
    assert caught.value.detail == {
        "code": code,
        "message": "boom",
        "step": "CreateSession",
        "retryable": retryable,
        "httpStatus": status,
    }


def test_an_unknown_service_error_keeps_its_code(client, stub):
    stub.add_client_error("create_streaming_session", "SomethingNewException", "new", 418)
    with pytest.raises(errors.NimbleApiError) as caught:
        create_session(WorkflowState.model_validate(workflow_state()), client)
    assert caught.value.detail["code"] == "SomethingNewException"


def poll(client, state_parts, now=None):
    return poll_session(
        WorkflowState.model_validate(workflow_state(**state_parts)),
        client,
        sleep=lambda seconds: None,
        now=now or (lambda: REQUESTED_AT + timedelta(seconds=75)),
    )


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        ("READY", PollOutcome.READY),
        ("CREATE_IN_PROGRESS", PollOutcome.PENDING),
        ("START_IN_PROGRESS", PollOutcome.PENDING),
        ("CREATE_FAILED", PollOutcome.FAILED),
        ("START_FAILED", PollOutcome.FAILED),
        ("DELETED", PollOutcome.UNEXPECTED),
        ("STOPPED", PollOutcome.UNEXPECTED),
        ("DELETE_IN_PROGRESS", PollOutcome.UNEXPECTED),
    ],
)
def test_poll_classifies_each_state(client, stub, state, outcome):
    stub.add_response(
        "get_streaming_session", {"session": session(state)}, {"studioId": ANY, "sessionId": "session-1"}
    )
    result = poll(client, {"created": CREATED})
    assert result.outcome is outcome
    assert result.checks == 1


def test_poll_ready_builds_the_event_detail(client, stub):
    stub.add_response(
        "get_streaming_session", {"session": session("READY")}, {"studioId": ANY, "sessionId": ANY}
    )
    result = poll(client, {"created": CREATED})
    assert result.detail == {
        "requestId": "req-1",
        "clientToken": "token-1",
        "studioId": "studio-local",
        "launchProfileId": "lp-local",
        "ownedBy": "artist",
        "sessionId": "session-1",
        "ec2InstanceType": "g4dn.xlarge",
        "session": result.session.to_json(),
        "attempts": [
            {
                "index": 0,
                "ec2InstanceType": None,
                "clientToken": "token-1",
                "sessionId": "session-1",
                "outcome": "READY",
                "code": None,
            }
        ],
        "timings": {
            "requestedAt": "2026-11-27T10:00:00Z",
            "readyAt": "2026-11-27T10:01:15Z",
            "secondsElapsed": 75.0,
        },
    }


def test_poll_checks_several_times_per_invocation_and_stops_early(client, stub):
    for state in ("CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "READY"):
        stub.add_response(
            "get_streaming_session", {"session": session(state)}, {"studioId": ANY, "sessionId": ANY}
        )
    sleeps = []
    policy = {"initialWaitSeconds": 0, "intervalSeconds": 10, "checksPerPoll": 5, "budgetSeconds": 600}
    result = poll_session(
        WorkflowState.model_validate(workflow_state(created=CREATED, polling=policy)),
        client,
        sleep=sleeps.append,
        now=lambda: REQUESTED_AT,
    )
    assert result.outcome is PollOutcome.READY
    assert result.checks == 3
    assert sleeps == [10, 10]


def test_poll_stops_checking_before_the_lambda_runs_out_of_time(client, stub):
    stub.add_response("get_streaming_session", {"session": session()}, {"studioId": ANY, "sessionId": ANY})
    policy = {"initialWaitSeconds": 0, "intervalSeconds": 10, "checksPerPoll": 5, "budgetSeconds": 600}
    result = poll_session(
        WorkflowState.model_validate(workflow_state(created=CREATED, polling=policy)),
        client,
        sleep=lambda seconds: None,
        now=lambda: REQUESTED_AT,
        time_left=lambda: 15.0,  # not enough for a 10 s sleep plus a call
    )
    assert (result.outcome, result.checks) == (PollOutcome.PENDING, 1)


def test_a_policy_that_would_overflow_the_execution_history_is_refused():
    with pytest.raises(ValueError, match="history events"):
        PollingPolicy(initialWaitSeconds=0, intervalSeconds=1, budgetSeconds=3600)
    assert PollingPolicy(initialWaitSeconds=0, intervalSeconds=1, checksPerPoll=10, budgetSeconds=3600)


def test_poll_times_out_when_the_budget_is_spent(client, stub):
    stub.add_response("get_streaming_session", {"session": session()}, {"studioId": ANY, "sessionId": ANY})
    policy = {"initialWaitSeconds": 0, "intervalSeconds": 1, "checksPerPoll": 1, "budgetSeconds": 3}
    previous = {"outcome": "PENDING", "checks": 3, "session": session()}
    result = poll(client, {"created": CREATED, "polling": policy, "poll": previous})
    assert (result.outcome, result.checks) == (PollOutcome.TIMED_OUT, 4)


def test_poll_pending_within_budget_counts_checks(client, stub):
    stub.add_response("get_streaming_session", {"session": session()}, {"studioId": ANY, "sessionId": ANY})
    previous = {"outcome": "PENDING", "checks": 7, "session": session()}
    result = poll(client, {"created": CREATED, "poll": previous})
    assert (result.outcome, result.checks) == (PollOutcome.PENDING, 8)


def test_poll_reraises_service_errors_as_poll_failures(client, stub):
    stub.add_client_error("get_streaming_session", "ResourceNotFoundException", "gone", 404)
    with pytest.raises(errors.ResourceNotFoundException) as caught:
        poll(client, {"created": CREATED})
    assert caught.value.detail["step"] == "PollSession"


def test_delete_session_confirms_the_deletion(client, stub):
    stub.add_response(
        "delete_streaming_session",
        {"session": session("DELETE_IN_PROGRESS")},
        {"studioId": "studio-local", "sessionId": "session-1", "clientToken": delete_token("token-1")},
    )
    stub.add_response(
        "get_streaming_session",
        {"session": session("DELETE_IN_PROGRESS")},
        {"studioId": ANY, "sessionId": ANY},
    )
    stub.add_response(
        "get_streaming_session", {"session": session("DELETED")}, {"studioId": ANY, "sessionId": ANY}
    )
    sleeps = []
    result = delete_session(
        WorkflowState.model_validate(workflow_state(created=CREATED)), client, sleep=sleeps.append
    )
    assert (result.action, result.state) == ("DELETED", "DELETED")
    assert sleeps == [10, 10]
    assert len(delete_token("t" * 64, attempt=2)) <= 64


def test_delete_session_asks_again_after_delete_failed(client, stub):
    stub.add_response(
        "delete_streaming_session",
        {"session": session("DELETE_IN_PROGRESS")},
        {"studioId": ANY, "sessionId": ANY, "clientToken": delete_token("token-1", 0)},
    )
    stub.add_response(
        "get_streaming_session", {"session": session("DELETE_FAILED")}, {"studioId": ANY, "sessionId": ANY}
    )
    stub.add_response(
        "delete_streaming_session",
        {"session": session("DELETE_IN_PROGRESS")},
        {"studioId": ANY, "sessionId": ANY, "clientToken": delete_token("token-1", 1)},
    )
    stub.add_response(
        "get_streaming_session", {"session": session("DELETED")}, {"studioId": ANY, "sessionId": ANY}
    )
    result = delete_session(
        WorkflowState.model_validate(workflow_state(created=CREATED)), client, sleep=lambda s: None
    )
    assert result.action == "DELETED"


def test_an_unconfirmed_deletion_is_reported_as_requested_not_done(client, stub):
    stub.add_response(
        "delete_streaming_session",
        {"session": session("DELETE_IN_PROGRESS")},
        {"studioId": ANY, "sessionId": ANY, "clientToken": ANY},
    )
    result = delete_session(
        WorkflowState.model_validate(workflow_state(created=CREATED)), client, time_left=lambda: 5.0
    )
    assert (result.action, result.state) == ("DELETE_REQUESTED", "DELETE_IN_PROGRESS")


def test_delete_of_a_vanished_session_is_not_an_error(client, stub):
    stub.add_client_error("delete_streaming_session", "ResourceNotFoundException", "gone", 404)
    result = delete_session(WorkflowState.model_validate(workflow_state(created=CREATED)), client)
    assert result.action == "ALREADY_GONE"


def test_delete_without_a_session_does_nothing(client, stub):
    assert delete_session(WorkflowState.model_validate(workflow_state()), client).action == "NOT_CREATED"


def test_delete_raises_other_errors_for_the_state_machine_to_retry(client, stub):
    stub.add_client_error("delete_streaming_session", "ThrottlingException", "slow down", 429)
    with pytest.raises(errors.ThrottlingException):
        delete_session(WorkflowState.model_validate(workflow_state(created=CREATED)), client)


def test_delete_of_a_session_someone_else_deleted_is_already_gone(client, stub):
    stub.add_response(
        "delete_streaming_session",
        {"session": session("DELETED")},
        {"studioId": ANY, "sessionId": ANY, "clientToken": ANY},
    )
    result = delete_session(WorkflowState.model_validate(workflow_state(created=CREATED)), client)
    assert (result.action, result.state) == ("ALREADY_GONE", "DELETED")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ReadTimeoutError(endpoint_url="http://x"), "NimbleConnectionError"),
        (ConnectionClosedError(endpoint_url="http://x"), "NimbleConnectionError"),
        (EndpointConnectionError(endpoint_url="http://x"), "NimbleConnectionError"),
        (IncompleteReadError(actual_bytes=1, expected_bytes=2), "NimbleConnectionError"),
        (NoCredentialsError(), "NimbleClientError"),
        (
            ClientError(
                {"Error": {"Code": "ServiceUnavailable"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "Get"
            ),
            "InternalServerErrorException",
        ),
        (
            ClientError({"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 429}}, "Get"),
            "ThrottlingException",
        ),
    ],
)
def test_sdk_failures_map_to_named_errors_the_state_machine_can_match(error, expected):
    mapped = errors.from_sdk_error(error, step="PollSession")
    assert type(mapped).__name__ == expected
    assert mapped.detail["retryable"] is (expected != "NimbleClientError")


def test_the_state_machine_retries_exactly_the_errors_we_call_transient():
    definition = json.loads(
        (Path(__file__).parents[3] / "statemachine" / "provision_session.asl.json").read_text()
    )
    retried = {
        name
        for state in definition["States"].values()
        for rule in state.get("Retry", [])
        for name in rule["ErrorEquals"]
        if name != "States.ALL"
    }
    assert retried == errors.TRANSIENT_ERROR_CODES | errors.TRANSIENT_PLATFORM_ERRORS - {
        "EventBridge.FailedEntry"
    }
