"""GET a request's status as the workflow goes: IN_PROGRESS, then READY or FAILED; 404s."""

from __future__ import annotations

import pytest

from session_provisioning.logic.requests import request_id_for
from tests.support.api import STUDIO, session_of, valid_body

STATUS_KEYS = {
    "requestId",
    "clientToken",
    "studioId",
    "status",
    "sessionId",
    "session",
    "error",
    "cleanup",
    "provisioningStartsAt",
    "attempts",
}


def test_in_progress_then_ready_with_the_session(api, emulator, token):
    emulator.backend.add_fault(session_outcome="NEVER_READY", match={"clientToken": token})
    request_id = api.create(valid_body(ownedBy="artist"), token=token).body["requestId"]
    session = session_of(emulator, token)

    # The session is still being created: the request is in progress, and says no more.
    reply = api.status(request_id)
    assert reply.status == 200
    assert reply.body == {
        "requestId": request_id,
        "clientToken": token,
        "studioId": STUDIO,
        "status": "IN_PROGRESS",
        "sessionId": None,
        "session": None,
        "error": None,
        "cleanup": None,
        "provisioningStartsAt": None,
        "attempts": None,
    }

    emulator.backend.force_state(session["sessionId"], "READY", "STREAMING_SESSION_READY")
    replies = api.wait_until_done(request_id)
    assert {reply.body["status"] for reply in replies[:-1]} <= {"IN_PROGRESS"}
    final = replies[-1].body
    assert set(final) == STATUS_KEYS
    assert final["status"] == "READY"
    assert final["sessionId"] == session["sessionId"]
    assert final["session"]["sessionId"] == session["sessionId"]
    assert final["session"]["state"] == "READY"
    assert final["session"]["ownedBy"] == "artist"
    assert final["error"] is None
    assert final["cleanup"] is None


def test_in_progress_then_failed_when_the_session_fails(api, emulator, token):
    emulator.backend.add_fault(
        session_outcome="CREATE_FAILED", status_code="INSUFFICIENT_CAPACITY", match={"clientToken": token}
    )
    request_id = api.create(valid_body(), token=token).body["requestId"]
    replies = api.wait_until_done(request_id)
    assert {reply.body["status"] for reply in replies[:-1]} <= {"IN_PROGRESS"}
    final = replies[-1].body
    assert set(final) == STATUS_KEYS
    assert final["status"] == "FAILED"
    assert final["clientToken"] == token
    assert final["error"]["code"] == "INSUFFICIENT_CAPACITY"
    assert final["error"]["state"] == "CREATE_FAILED"
    assert final["error"]["retryable"] is False
    assert final["error"]["message"]
    assert final["sessionId"] == session_of(emulator, token)["sessionId"]
    assert final["session"] is None


def test_failed_when_nimble_refuses_the_request(api, token):
    request_id = api.create(valid_body(launchProfileId="lp-unknown"), token=token).body["requestId"]
    final = api.wait_until_done(request_id)[-1].body
    assert final["status"] == "FAILED"
    assert final["error"]["code"] == "ResourceNotFoundException"
    assert final["error"]["step"] == "CreateSession"
    assert final["error"]["httpStatus"] == 404
    assert final["sessionId"] is None


def test_stopped_workflow_is_failed_with_execution_aborted(api, emulator, token):
    emulator.backend.add_fault(session_outcome="NEVER_READY", match={"clientToken": token})
    request_id = api.create(valid_body(), token=token).body["requestId"]
    session_of(emulator, token)
    [execution] = api.executions(request_id)
    api.sfn.stop_execution(executionArn=execution["executionArn"], cause="test")
    final = api.wait_until_done(request_id)[-1].body
    assert final["status"] == "FAILED"
    assert final["error"] == {
        "code": "ExecutionAborted",
        "message": "The workflow was stopped before it finished.",
    }


@pytest.mark.parametrize(
    "request_id",
    [
        request_id_for(STUDIO, "a token nobody used"),
        "req-not-a-request-id",
        "arn:aws:states:us-east-1:123456789012:execution:x:y",
        "x" * 300,
    ],
    ids=["unknown", "malformed", "an ARN", "too long"],
)
def test_unknown_request_is_not_found(api, request_id):
    reply = api.status(request_id)
    assert reply.status == 404
    assert reply.body["code"] == "ResourceNotFoundException"
    assert set(reply.body) == {"code", "message"}


def test_request_of_another_studio_is_not_found(api, token):
    request_id = api.create(valid_body(), token=token).body["requestId"]
    reply = api.status(request_id, studio="studio-elsewhere")
    assert reply.status == 404
    assert reply.body["code"] == "ResourceNotFoundException"
    assert api.status(request_id).status == 200
