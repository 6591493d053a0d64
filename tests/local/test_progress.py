"""`make run`'s progress lines read histories as AWS records them (tests/support/aws_history.py)."""

from __future__ import annotations

from local.progress import ProgressWatcher
from tests.support.aws_history import AwsHistory

CREATED = {"sessionId": "session-1", "session": {"sessionId": "session-1", "state": "CREATE_IN_PROGRESS"}}


class FakeSfn:
    def __init__(self, events: list[dict]) -> None:
        self.events = events

    def get_paginator(self, name: str) -> FakeSfn:
        self.name = name
        return self

    def paginate(self, **_kwargs):
        if self.name == "list_executions":
            yield {"executions": [{"executionArn": "arn:x", "name": "req-1", "status": "FAILED"}]}
        else:
            yield {"events": self.events}


def lines(history: AwsHistory) -> list[str]:
    printed: list[str] = []
    ProgressWatcher(FakeSfn(history.events), "arn:sm", printed.append).poll_once()
    return [line.split("  ", 1)[1].strip() for line in printed]


def test_a_caught_create_failure_is_an_error_not_a_created_session():
    history = (
        AwsHistory({"studioId": "s", "clientToken": "t", "request": {"launchProfileId": "lp"}})
        .task(
            "CreateSession", attempts=["fail"], error="ResourceNotFoundException", caught_path="CreateSession"
        )
        .task("DescribeFailure", result={"detail": {}}, result_path="failure")
        .task("PublishFailed", integration=True)
        .failed_state("SessionFailed", "ResourceNotFoundException", "{}")
    )
    shown = lines(history)
    assert not any(line.startswith("created") for line in shown), shown
    assert (
        "error     ResourceNotFoundException in CreateSession (retried or caught by the state machine)"
        in shown
    )
    assert shown[-1] == "FAILED    ResourceNotFoundException"


def test_a_created_and_polled_session_is_shown_from_the_tasks_results():
    history = (
        AwsHistory({"studioId": "s", "clientToken": "t", "request": {"launchProfileId": "lp"}})
        .task("CreateSession", result=CREATED, result_path="created")
        .task("PollSession", result={"outcome": "READY", "checks": 2, "session": {"state": "READY"}})
        .task("DeleteSession", attempts=["fail"], error="ThrottlingException", caught_path="DeleteSession")
        .aborted("Stopped", "by hand")
    )
    assert lines(history)[1:] == [
        "created   session-1 (CREATE_IN_PROGRESS)",
        "polled    READY (check 2, READY)",
        "error     ThrottlingException in DeleteSession (retried or caught by the state machine)",
        "ABORTED",
    ]
