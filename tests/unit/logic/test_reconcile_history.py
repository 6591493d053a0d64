"""The reconciler reads histories as AWS records them: a state's exit is not its success.

The fixtures (tests/support/aws_history.py) are written in the shape Step Functions records:
a caught failure is followed by ``TaskStateExited``; only ``TaskSucceeded`` says that a
putEvents went through.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto import mock_aws

from session_provisioning.logic.reconcile import published_terminal_event, reconcile_execution
from tests.support.announcements import template_announcements
from tests.support.aws_history import AwsHistory, FakeStepFunctions

ARN = "arn:aws:states:us-east-1:123456789012:execution:provision:req-1"
INPUT = {
    "studioId": "studio-1",
    "clientToken": "tok-1",
    "request": {"launchProfileId": "lp-1", "ownedBy": "a"},
}
REJECTED = "EventBridge.FailedEntry"


def lost_event_history() -> AwsHistory:
    """A caught PublishReady failure, then PublishFailed out of retries: nothing was published.

    (No session in the state, so the reconciler has nothing to delete here; the workflow test
    runs the same sequence with a real session.)"""
    return (
        AwsHistory(INPUT)
        .task("ValidateRequest", result={"requestId": "req-1"}, result_path="request")
        .task(
            "PublishReady",
            integration=True,
            attempts=["fail"] * 6,
            error=REJECTED,
            caught_path="PublishReady",
        )
        .task("DescribeFailure", result={"detail": {}}, result_path="failure")
        .task("PublishFailed", integration=True, attempts=["fail"] * 6, error=REJECTED)
    )


class FakeEvents:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]}


def reconcile(events: list[dict[str, Any]], **detail: Any) -> tuple[dict[str, Any], FakeEvents]:
    sink = FakeEvents()
    with mock_aws():
        table = template_announcements()
        result = _reconcile(events, sink, table, **detail)
    return result, sink


def _reconcile(events: list[dict[str, Any]], sink: FakeEvents, table: Any, **detail: Any) -> dict[str, Any]:
    return reconcile_execution(
        {
            "executionArn": ARN,
            "name": "req-1",
            "input": json.dumps(INPUT),
            "startDate": 1714564800000,
            **detail,
        },
        sfn_client=FakeStepFunctions(events),
        nimble_client=None,
        events_client=sink,
        announcements=table,
        claimer="invocation-1",
        event_bus_name="bus",
        event_source="source",
    )


def test_the_lost_event_sequence_exits_both_publishing_states_without_publishing():
    events = lost_event_history().events
    exits = [e["stateExitedEventDetails"]["name"] for e in events if "stateExitedEventDetails" in e]
    assert "PublishReady" in exits  # the exit AWS records after the caught failure
    assert events[-1]["type"] == "ExecutionFailed"
    assert published_terminal_event(events) is False


def test_the_lost_event_sequence_is_announced_once():
    result, sink = reconcile(lost_event_history().events, status="FAILED", error=REJECTED, cause="{}")
    assert result["action"] == "ANNOUNCED"
    [entry] = sink.entries
    assert entry["DetailType"] == "Streaming Session Failed"
    detail = json.loads(entry["Detail"])
    assert (detail["requestId"], detail["clientToken"], detail["error"]["code"]) == (
        "req-1",
        "tok-1",
        REJECTED,
    )


@pytest.mark.parametrize("state", ["PublishReady", "PublishFailed"])
def test_a_put_events_that_succeeded_after_retries_counts_as_published(state):
    history = AwsHistory(INPUT).task(state, integration=True, attempts=["fail", "fail", "ok"], error=REJECTED)
    assert published_terminal_event(history.events) is True
    result, sink = reconcile(history.events, status="FAILED")
    assert result["action"] == "NONE"
    assert sink.entries == []


def test_a_published_ready_event_then_a_stop_is_left_alone():
    history = AwsHistory(INPUT).task("PublishReady", integration=True).aborted("Stopped", "by hand")
    assert published_terminal_event(history.events) is True


def test_a_caught_publish_ready_then_a_published_failed_event_counts_once():
    history = (
        AwsHistory(INPUT)
        .task("PublishReady", integration=True, attempts=["fail"], error=REJECTED, caught_path="PublishReady")
        .task("DescribeFailure", result={"detail": {}}, result_path="failure")
        .task("PublishFailed", integration=True)
        .failed_state("SessionFailed", REJECTED, "{}")
    )
    assert published_terminal_event(history.events) is True


def test_a_lambda_that_succeeded_in_another_state_is_not_a_publication():
    history = AwsHistory(INPUT).task("DescribeFailure", result={"detail": {}}).aborted()
    assert published_terminal_event(history.events) is False


def test_an_execution_stopped_while_publishing_is_announced():
    history = AwsHistory(INPUT)
    history.task("DescribeFailure", result={"detail": {}}, result_path="failure")
    entered = history._enter("PublishFailed", "Task")
    history._add("TaskScheduled", entered)
    history.aborted("Stopped", "by hand")
    assert published_terminal_event(history.events) is False
    result, sink = reconcile(history.events, status="ABORTED")
    assert result["code"] == "ExecutionAborted"
    assert len(sink.entries) == 1


def test_a_published_delayed_event_is_not_a_terminal_one():
    # readyBy passed, the Delayed event went out, then the execution was stopped: the request's
    # terminal event is still owed, and the reconciler publishes it (Failed), once.
    history = (
        AwsHistory(INPUT)
        .task("PublishDelayed", integration=True)
        .passing("MarkDelayedPublished")
        .aborted("Stopped", "by hand")
    )
    assert published_terminal_event(history.events) is False
    result, sink = reconcile(history.events, status="ABORTED")
    assert result["code"] == "ExecutionAborted"
    assert len(sink.entries) == 1
    assert sink.entries[0]["DetailType"] == "Streaming Session Failed"
