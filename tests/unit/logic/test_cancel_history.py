"""Cancel and READY, read from histories in the shape AWS records them: one outcome, never both."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from session_provisioning.logic.history import ready_announcement
from session_provisioning.logic.outcome import CANCELLED_CODE, cancel_cause, request_status
from tests.support.aws_history import AwsHistory
from tests.unit.logic.test_reconcile_history import INPUT, reconcile

CAUSE = cancel_cause("arn:aws:iam::123456789012:user/ops", datetime(2024, 5, 1, 12, 1, tzinfo=UTC))
READY = {
    "requestId": "req-1",
    "sessionId": "session-1",
    "session": {"sessionId": "session-1", "state": "READY"},
}


def polled_ready() -> AwsHistory:
    history = AwsHistory(INPUT).task("ValidateRequest", result={"requestId": "req-1"}, result_path="request")
    return history.task("PollSession", result={"outcome": "READY", "detail": READY}, result_path="poll")


def status(events: list[dict[str, Any]]) -> Any:
    execution = {"status": "ABORTED", "input": json.dumps(INPUT)}
    return request_status(execution, request_id="req-1", studio_id="studio-1", history=lambda: events)


def test_a_cancel_before_publish_ready_is_announced_as_cancelled_with_who():
    events = polled_ready().aborted(CANCELLED_CODE, CAUSE).events
    assert status(events).status == "CANCELLED"
    assert status(events).error.code == CANCELLED_CODE
    result, sink = reconcile(events, status="ABORTED")
    assert result["code"] == CANCELLED_CODE
    [entry] = sink.entries
    detail = json.loads(entry["Detail"])
    assert entry["DetailType"] == "Streaming Session Failed"
    assert detail["cancelledBy"] == "arn:aws:iam::123456789012:user/ops"
    assert detail["error"]["code"] == CANCELLED_CODE


def test_a_cancel_after_the_ready_event_was_published_leaves_it_ready():
    events = polled_ready().task("PublishReady", integration=True).aborted(CANCELLED_CODE, CAUSE).events
    assert ready_announcement(events) == READY
    answer = status(events)
    assert (answer.status, answer.session_id) == ("READY", "session-1")
    result, sink = reconcile(events, status="ABORTED")
    assert result["action"] == "NONE"
    assert sink.entries == []


def test_a_cancel_while_publish_ready_was_in_flight_is_ready_and_publishes_nothing_more():
    history = polled_ready()
    entered = history._enter("PublishReady", "Task")
    history._add("TaskStarted", history._add("TaskScheduled", entered))
    events = history.aborted(CANCELLED_CODE, CAUSE).events
    assert status(events).status == "READY"
    assert ready_announcement(events) == READY
    result, sink = reconcile(events, status="ABORTED")
    # The call in flight was sent: a second Ready event would almost always be a duplicate.
    assert result["action"] == "NONE"
    assert sink.entries == []


def test_a_cancel_after_publish_ready_failed_and_was_waiting_to_retry_is_a_cancel():
    history = polled_ready().task(
        "PublishReady", integration=True, attempts=["fail"], error="EventBridge.FailedEntry", caught_path="x"
    )
    events = history.aborted(CANCELLED_CODE, CAUSE).events
    assert ready_announcement(events) is None
    assert status(events).status == "CANCELLED"


def test_a_stop_that_is_not_a_cancel_stays_execution_aborted():
    events = polled_ready().aborted("Operator.Stop", "by hand").events
    assert status(events).status == "FAILED"
    result, _ = reconcile(events, status="ABORTED")
    assert result["code"] == "ExecutionAborted"
