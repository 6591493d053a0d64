"""Reading an execution's history as AWS records it (GetExecutionHistory).

Each event names its cause (``previousEventId``): a ``TaskSucceeded`` follows ``TaskStarted``,
``TaskScheduled`` and the state's ``TaskStateEntered``, which names the state. A
``...StateExited`` does not say a task succeeded: Step Functions records ``TaskStateExited``
also after a failure that a Catch handled.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from session_provisioning.jsontext import parse_json_object

PUBLISHING_STATES = frozenset({"PublishReady", "PublishFailed"})
TASK_SUCCEEDED_EVENTS = frozenset({"TaskSucceeded", "LambdaFunctionSucceeded"})


def states_of(events: Iterable[dict[str, Any]]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """Each event with the name of the state it belongs to (None outside any state)."""
    state_of: dict[int, str | None] = {}
    for event in events:
        entered = event.get("stateEnteredEventDetails")
        state = entered["name"] if entered else state_of.get(event.get("previousEventId", 0))
        state_of[event.get("id", 0)] = state
        yield state, event


def published_terminal_event(events: Iterable[dict[str, Any]]) -> bool:
    """Whether a publishing state's putEvents succeeded."""
    return any(
        event.get("type") in TASK_SUCCEEDED_EVENTS and state in PUBLISHING_STATES
        for state, event in states_of(events)
    )


def ready_announcement(events: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The Ready detail once PublishReady's putEvents went out, or may have: its TaskSucceeded, or
    a TaskScheduled that no TaskFailed followed before the history ended (the execution was
    stopped while the call was in flight). None otherwise."""
    detail: dict[str, Any] | None = None
    in_flight = False
    for state, event in states_of(events):
        if state != "PublishReady":
            continue
        entered = event.get("stateEnteredEventDetails")
        if entered:
            poll = (parse_json_object(entered.get("input")) or {}).get("poll")
            detail = poll.get("detail") if isinstance(poll, dict) else None
        kind = event.get("type")
        if kind == "TaskSucceeded":
            return detail
        if kind in ("TaskScheduled", "TaskFailed"):
            in_flight = kind == "TaskScheduled"
    return detail if in_flight else None


def aborted_error_and_cause(events: Iterable[dict[str, Any]]) -> tuple[str | None, str | None]:
    """StopExecution's error and cause, as ``ExecutionAborted`` records them."""
    for event in events:
        details = event.get("executionAbortedEventDetails")
        if details is not None:
            return details.get("error") or None, details.get("cause") or None
    return None, None


def last_state_holding(
    events: Iterable[dict[str, Any]], member: str, *, entered: bool
) -> dict[str, Any] | None:
    """The last state input (``entered``) or output (exited) whose ``member`` is an object."""
    details_key, part = (
        ("stateEnteredEventDetails", "input") if entered else ("stateExitedEventDetails", "output")
    )
    latest: dict[str, Any] | None = None
    for event in events:
        details = event.get(details_key)
        data = parse_json_object(details.get(part)) if details else None
        if data and isinstance(data.get(member), dict):
            latest = data
    return latest


def latest_state_with_session(events: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The last state output that held a created session."""
    return last_state_holding(events, "created", entered=False)


def create_without_result(events: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The input of CreateSession (or FindCreatedSession) when one of its calls may have made a
    session that no state output names (the execution was stopped while the state ran, or it
    failed in a way that hides the call's outcome); None once the state exited.

    Pending from the state's entry until its exit, not from LambdaFunctionScheduled to
    LambdaFunctionSucceeded: a stop can land between entry and scheduling while the invocation
    still goes out (moto), or between the call's success and the exit whose output would name
    the session. Re-asking with the same token costs one idempotent call; missing a session
    would leave it running.
    """
    pending: dict[str, Any] | None = None
    for state, event in states_of(events):
        if state not in ("CreateSession", "FindCreatedSession"):
            continue
        if entered := event.get("stateEnteredEventDetails"):
            pending = parse_json_object(entered.get("input"))
        elif event.get("stateExitedEventDetails"):
            pending = None
    return pending
