"""Closing the gaps the state machine cannot close itself.

An execution that is stopped (StopExecution), times out, or fails outside every Catch (a
runtime error in the definition, the history limit, PublishFailed out of retries) runs no more
states: no cleanup, no terminal event. Step Functions still announces its end with a
"Step Functions Execution Status Change" event; this reconciler, triggered by it, reads the
execution's history and does what the workflow would have done:

- a terminal event was published (PublishReady's or PublishFailed's putEvents succeeded):
  nothing to do;
- otherwise: delete the session if one was created (DeleteSession's logic, confirmation and
  all), then publish the Streaming Session Failed event with code ExecutionAborted,
  ExecutionTimedOut or the execution's own error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from session_provisioning.jsontext import parse_json_object
from session_provisioning.logic.failures import describe_cleanup
from session_provisioning.logic.outcome import execution_ending, failed_outcome, identifiers_from_input
from session_provisioning.logic.steps import delete_session, utc_now
from session_provisioning.models.events import FAILED_DETAIL_TYPE
from session_provisioning.models.workflow import CreatedSession, WorkflowState

PUBLISHING_STATES = frozenset({"PublishReady", "PublishFailed"})
#: The events that say a task's call succeeded. A ``...StateExited`` does not: Step Functions
#: records ``TaskStateExited`` also after a failure that a Catch handled.
TASK_SUCCEEDED_EVENTS = frozenset({"TaskSucceeded", "LambdaFunctionSucceeded"})


def published_terminal_event(events: Iterable[dict[str, Any]]) -> bool:
    """Whether a publishing state's putEvents succeeded, read as AWS records a history.

    Each event names its cause (``previousEventId``): a ``TaskSucceeded`` follows ``TaskStarted``,
    ``TaskScheduled`` and the state's ``TaskStateEntered``, which names the state.
    """
    state_of: dict[int, str | None] = {}
    for event in events:
        entered = event.get("stateEnteredEventDetails")
        state = entered["name"] if entered else state_of.get(event.get("previousEventId", 0))
        state_of[event.get("id", 0)] = state
        if event.get("type") in TASK_SUCCEEDED_EVENTS and state in PUBLISHING_STATES:
            return True
    return False


def history(sfn_client: Any, execution_arn: str) -> Iterator[dict[str, Any]]:
    paginator = sfn_client.get_paginator("get_execution_history")
    for page in paginator.paginate(executionArn=execution_arn, includeExecutionData=True):
        yield from page["events"]


def reconcile_execution(
    detail: dict[str, Any],
    *,
    sfn_client: Any,
    nimble_client: Any,
    events_client: Any,
    event_bus_name: str,
    event_source: str,
    now: datetime | None = None,
    time_left: Callable[[], float] = lambda: math.inf,
) -> dict[str, Any]:
    """Handles one Execution Status Change `detail`; returns what it did (for the log)."""
    status = detail.get("status")
    execution_arn = detail["executionArn"]
    events = list(history(sfn_client, execution_arn))
    latest_state: dict[str, Any] | None = None  # the last state output that held a session
    for event in events:
        exited = event.get("stateExitedEventDetails")
        output = parse_json_object(exited.get("output")) if exited else None
        if output and isinstance(output.get("created"), dict):
            latest_state = output
    if published_terminal_event(events):
        return {"action": "NONE", "reason": "a terminal event was already published"}

    state = _workflow_state(latest_state)
    cleanup = None
    if state is not None and state.created is not None:
        cleanup = describe_cleanup(delete_session(state, nimble_client, time_left=time_left))

    failed_at = now or utc_now()
    created: CreatedSession | None = state.created if state else None
    error = execution_ending(status, detail.get("error"), detail.get("cause")).model_copy(
        update={"step": "Execution", "retryable": status == "TIMED_OUT"}
    )
    failed = failed_outcome(
        request_id=detail.get("name") or execution_arn.rsplit(":", 1)[-1],
        identifiers=identifiers_from_input(parse_json_object(detail.get("input"))),
        error=error,
        session=created.session.to_json() if created else None,
        cleanup=cleanup,
        requested_at=_from_epoch_millis(detail.get("startDate")) or failed_at,
        failed_at=failed_at,
    ).detail
    response = events_client.put_events(
        Entries=[
            {
                "EventBusName": event_bus_name,
                "Source": event_source,
                "DetailType": FAILED_DETAIL_TYPE,
                "Detail": json.dumps(failed.to_json()),
                "Resources": [execution_arn],
            }
        ]
    )
    if response.get("FailedEntryCount"):
        # Raised, so the rule's retry policy (and then its dead-letter queue) takes over.
        raise RuntimeError(f"the Failed event was not accepted: {response['Entries']}")
    return {
        "action": "ANNOUNCED",
        "code": error.code,
        "sessionId": failed.session_id,
        "cleanup": cleanup.to_json() if cleanup else None,
    }


def _workflow_state(output: dict[str, Any] | None) -> WorkflowState | None:
    if output is None:
        return None
    try:
        return WorkflowState.model_validate(output)
    except ValidationError:
        return None


def _from_epoch_millis(value: Any) -> datetime | None:
    if not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value / 1000, tz=UTC)
