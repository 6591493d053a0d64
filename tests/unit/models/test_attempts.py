"""Attempt tokens and the fallback decision, as plain functions."""

from __future__ import annotations

import pytest

from session_provisioning.logic.attempts import next_attempt
from session_provisioning.models.attempts import AttemptRecord, attempt_client_token
from session_provisioning.models.events import FailureError
from session_provisioning.models.workflow import WorkflowState

REQUEST = {
    "requestId": "req-1",
    "requestedAt": "2030-01-01T08:00:00Z",
    "studioId": "studio-local",
    "clientToken": "token-1",
    "launchProfileId": "lp-local",
    "ec2InstanceType": "g4dn.xlarge",
    "fallbackInstanceTypes": ["g5.xlarge", "g5.2xlarge"],
}
CAPACITY = FailureError(code="INSUFFICIENT_CAPACITY", message="no capacity", state="CREATE_FAILED")
QUOTA = FailureError(code="ServiceQuotaExceededException", message="quota", step="CreateSession")


def session(state: str, status_code: str | None = None) -> dict:
    return {"sessionId": "session-1", "state": state, "statusCode": status_code}


def state_after_create_failed(**extra) -> WorkflowState:
    failed = session("CREATE_FAILED", "INSUFFICIENT_CAPACITY")
    return WorkflowState.model_validate(
        {
            "request": REQUEST,
            "created": {"sessionId": "session-1", "session": session("CREATE_IN_PROGRESS")},
            "poll": {"outcome": "FAILED", "checks": 2, "session": failed},
            **extra,
        }
    )


def test_the_first_attempt_sends_the_request_token_unchanged():
    assert attempt_client_token("my-token", 0) == "my-token"


@pytest.mark.parametrize("token", ["t", "my-first-session", "x" * 64, "é" * 64])
def test_fallback_tokens_are_deterministic_distinct_and_within_64_characters(token):
    tokens = [attempt_client_token(token, index) for index in range(6)]
    assert tokens == [attempt_client_token(token, index) for index in range(6)]  # the same on a retry
    assert len(set(tokens)) == 6
    assert all(1 <= len(each) <= 64 for each in tokens)


def test_long_tokens_sharing_their_kept_prefix_still_get_different_fallback_tokens():
    first, second = "p" * 60 + "aaaa", "p" * 60 + "bbbb"
    assert attempt_client_token(first, 1) != attempt_client_token(second, 1)


def test_insufficient_capacity_moves_on_to_the_next_type_in_order():
    following = next_attempt(state_after_create_failed(), CAPACITY)
    assert following is not None
    assert (following.index, following.ec2_instance_type) == (1, "g5.xlarge")
    assert following.client_token == attempt_client_token("token-1", 1)


def test_quota_refusal_on_create_moves_on():
    state = WorkflowState.model_validate({"request": REQUEST, "attempt": {"index": 1, "clientToken": "x"}})
    following = next_attempt(state, QUOTA)
    assert following is not None
    assert (following.index, following.ec2_instance_type) == (2, "g5.2xlarge")


def test_no_type_is_left_after_the_last():
    state = WorkflowState.model_validate({"request": REQUEST, "attempt": {"index": 2, "clientToken": "x"}})
    assert next_attempt(state, QUOTA) is None


@pytest.mark.parametrize(
    "error",
    [
        FailureError(code="NETWORK_CONNECTION_ERROR", message="no", state="CREATE_FAILED"),
        FailureError(code="SessionNotReadyInTime", message="slow"),
        FailureError(code="ServiceQuotaExceededException", message="quota", step="FindCreatedSession"),
    ],
)
def test_other_failures_do_not_move_on(error):
    assert next_attempt(state_after_create_failed(), error) is None


def test_capacity_with_a_cleanup_does_not_move_on():
    # A session was (or may have been) running and had to be deleted: that request ends here.
    assert next_attempt(state_after_create_failed(cleanup={"action": "DELETED"}), CAPACITY) is None


def test_without_fallbacks_nothing_is_tried_next():
    request = {key: value for key, value in REQUEST.items() if key != "fallbackInstanceTypes"}
    state = WorkflowState.model_validate({"request": request})
    assert next_attempt(state, QUOTA) is None


def test_an_attempt_record_always_lists_every_member():
    record = AttemptRecord(
        index=0, ec2InstanceType=None, clientToken="t", sessionId=None, outcome="ERROR", code=None
    )
    assert record.to_json() == {
        "index": 0,
        "ec2InstanceType": None,
        "clientToken": "t",
        "sessionId": None,
        "outcome": "ERROR",
        "code": None,
    }
