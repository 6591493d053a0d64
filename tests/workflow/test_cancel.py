"""DELETE .../requests/{requestId} through ApiFunction, with the template's rules routing the
ABORTED status change to the reconciler (as `make run` does): one Failed event, session deleted."""

from __future__ import annotations

import json
import threading

import pytest

from local.engine import ACCOUNT_ID, REGION
from tests.support.api import valid_body
from tests.support.waiting import wait_until
from tests.support.workflow import RECONCILER, events_for, rules_engine, sessions_for_token


@pytest.fixture(scope="module")
def engine(emulator, events_file, invocations):
    with rules_engine(emulator, events_file, invocations, parameters={"PollBudgetSeconds": "120"}) as running:
        yield running


def path(request_id: str) -> str:
    return f"/studios/studio-local/streaming-sessions/requests/{request_id}"


def reconciled(invocations, request_id):
    return invocations.of(RECONCILER, request_id)


def the_failed_event(engine, request_id):
    return wait_until(lambda: events_for(engine.events(), request_id), what="the Failed event")


def test_a_cancel_while_provisioning_deletes_the_session_and_announces_it_once(
    api, engine, emulator, invocations, token
):
    emulator.backend.add_fault(session_outcome="NEVER_READY", match={"clientToken": token})
    request_id = api.create(valid_body(), token=token).body["requestId"]
    [session] = wait_until(lambda: sessions_for_token(emulator, token), what="the session")
    wait_until(lambda: api.status(request_id).body["status"] == "IN_PROGRESS", what="in progress")
    wait_until(
        lambda: any(
            e.get("stateEnteredEventDetails", {}).get("name") == "PollSession"
            for e in engine.history(api.executions(request_id)[0]["executionArn"])
        ),
        what="PollSession",
    )

    reply = api.call("DELETE", path(request_id))
    assert reply.status == 202, reply
    assert (reply.body["status"], reply.body["error"]["code"], reply.body["cleanup"]) == (
        "CANCELLED",
        "RequestCancelled",
        None,
    )
    [event] = the_failed_event(engine, request_id)
    detail = event["detail"]
    assert event["detail-type"] == "Streaming Session Failed"
    assert detail["error"]["code"] == "RequestCancelled"
    assert detail["cancelledBy"] == "anonymous"  # the local API Gateway signs no one in
    assert detail["sessionId"] == session["sessionId"]
    assert detail["cleanup"] == {"sessionDeleted": True, "action": "DELETED"}
    assert sessions_for_token(emulator, token)[0]["state"] == "DELETED"
    assert api.status(request_id).body["status"] == "CANCELLED"

    again = api.call("DELETE", path(request_id))
    assert (again.status, again.body["status"]) == (202, "CANCELLED")
    [attempt] = reconciled(invocations, request_id)
    assert attempt["response"]["code"] == "RequestCancelled"
    assert len(events_for(engine.events(), request_id)) == 1
    assert len(sessions_for_token(emulator, token)) == 1


def test_a_cancel_right_after_the_request_leaves_no_session(api, engine, emulator, token):
    request_id = api.create(valid_body(), token=token).body["requestId"]
    reply = api.call("DELETE", path(request_id))
    assert (reply.status, reply.body["status"]) == (202, "CANCELLED")
    [event] = the_failed_event(engine, request_id)
    assert event["detail"]["error"]["code"] == "RequestCancelled"
    sessions = sessions_for_token(emulator, token)
    # A CreateStreamingSession in flight at the stop is found with the token and deleted.
    assert all(s["state"] in ("DELETE_IN_PROGRESS", "DELETED") for s in sessions), sessions
    if sessions:
        assert event["detail"]["cleanup"]["action"] in ("DELETED", "ALREADY_GONE", "DELETE_REQUESTED")


def test_a_ready_request_cannot_be_cancelled(api, engine, emulator, token):
    request_id = api.create(valid_body(), token=token).body["requestId"]
    assert api.wait_until_done(request_id, timeout=60)[-1].body["status"] == "READY"
    reply = api.call("DELETE", path(request_id))
    assert (reply.status, reply.body["code"]) == (409, "ConflictException")
    assert "DeleteStreamingSession" in reply.body["message"]
    assert sessions_for_token(emulator, token)[0]["state"] == "READY"
    assert [e["detail-type"] for e in events_for(engine.events(), request_id)] == ["Streaming Session Ready"]


def test_a_failed_request_cannot_be_cancelled(api, token):
    request_id = api.create(valid_body(launchProfileId="lp-unknown"), token=token).body["requestId"]
    assert api.wait_until_done(request_id, timeout=60)[-1].body["status"] == "FAILED"
    reply = api.call("DELETE", path(request_id))
    assert (reply.status, reply.body["code"]) == (409, "ConflictException")


def test_unknown_and_other_studios_requests_are_not_found(api, token):
    request_id = api.create(valid_body(), token=token).body["requestId"]
    assert api.call("DELETE", path("req-" + "a" * 32)).status == 404
    assert api.call("DELETE", path("not-a-request")).status == 404
    other = api.call("DELETE", f"/studios/studio-other/streaming-sessions/requests/{request_id}")
    assert (other.status, other.body["code"]) == (404, "ResourceNotFoundException")


# --- the cancel/READY race, at the engine ----------------------------------------------------


class HeldReady:
    """Holds PublishReady's putEvents (in moto's events backend, which lives in this process)
    for one request on a threading.Event, so a cancel lands while the Ready event is in flight."""

    def __init__(self) -> None:
        self.request_id: str | None = None
        self.entered = threading.Event()
        self.release = threading.Event()
        self._held_once = False
        self._lock = threading.Lock()

    def wrap(self, original):
        def put_events(entries):
            for entry in entries:
                detail = json.loads(entry.get("Detail") or "{}")
                if (
                    entry.get("DetailType") == "Streaming Session Ready"
                    and detail.get("requestId") == self.request_id
                ):
                    with self._lock:
                        first, self._held_once = not self._held_once, True
                    if first:
                        self.entered.set()
                        assert self.release.wait(120), "the test never released the Ready event"
            return original(entries)

        return put_events


def race_ready_against_a_cancel(api, engine, emulator, invocations, token):
    """The outcome of a DELETE while PublishReady's putEvents is held: (events, status, session, DELETE again)."""
    from moto.events.models import events_backends

    hold = HeldReady()
    backend = events_backends[ACCOUNT_ID][REGION]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(backend, "put_events", hold.wrap(backend.put_events))
        # Held from before the request, so the workflow cannot reach PublishReady unheld.
        request_id = hold.request_id = api.create(valid_body(), token=token).body["requestId"]
        try:
            assert hold.entered.wait(90), "PublishReady never called putEvents"
            reply = api.call("DELETE", path(request_id))
            assert reply.status in (202, 409), reply
        finally:
            hold.release.set()
        execution_arn = api.executions(request_id)[0]["executionArn"]
        wait_until(lambda: engine.describe(execution_arn)["status"] != "RUNNING", timeout=60, what="the end")
        # The reconciler (for an ABORTED execution) has answered, on its last attempt.
        if engine.describe(execution_arn)["status"] == "ABORTED":
            wait_until(
                lambda: any(r["lastAttempt"] for r in reconciled(invocations, request_id)),
                timeout=120,
                what="the reconciler",
            )
        final = wait_until(lambda: events_for(engine.events(), request_id), timeout=60, what="an event")

    status = api.status(request_id).body
    [session] = sessions_for_token(emulator, token)
    again = api.call("DELETE", path(request_id))
    return final, status, session, again


def test_a_cancel_racing_ready_ends_one_way_only(api, engine, emulator, invocations, token):
    final, status, session, again = race_ready_against_a_cancel(api, engine, emulator, invocations, token)
    kinds = [e["detail-type"] for e in final]
    assert len(set(kinds)) == 1, kinds  # never both
    if kinds[0] == "Streaming Session Ready":
        # Every Ready event names the same session (the reconciler may send it again: below).
        assert {e["detail"]["sessionId"] for e in final} == {session["sessionId"]}
        assert status["status"] == "READY"
        assert session["state"] == "READY"
        assert again.status == 409
    else:
        assert kinds == ["Streaming Session Failed"], kinds
        assert final[0]["detail"]["error"]["code"] == "RequestCancelled"
        assert status["status"] == "CANCELLED"
        assert wait_until(lambda: sessions_for_token(emulator, token)[0]["state"] == "DELETED", timeout=30)
        assert again.status == 202


def test_a_cancel_racing_ready_leaves_exactly_one_ready_event(api, engine, emulator, invocations, token):
    final, *_ = race_ready_against_a_cancel(api, engine, emulator, invocations, token)
    assert [e["detail-type"] for e in final] in (["Streaming Session Failed"], ["Streaming Session Ready"])
