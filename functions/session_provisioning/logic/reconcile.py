"""Closing the gaps the state machine cannot close itself.

An execution that is stopped (StopExecution), times out, or fails outside every Catch (a
runtime error in the definition, the history limit, PublishFailed out of retries) runs no more
states: no cleanup, no terminal event. Step Functions still announces its end with a
"Step Functions Execution Status Change" event; this reconciler, triggered by it, reads the
execution's history and does what the workflow would have done:

- a terminal event was published (PublishReady's or PublishFailed's putEvents succeeded):
  nothing to do;
- the execution was stopped while PublishReady's putEvents was in flight: READY wins, and the
  call is taken as published (it was sent; publishing again would almost always duplicate the
  event), so nothing is done: nothing deleted, no second event;
- stopped by the API's cancel (error RequestCancelled): the session is deleted and the Failed
  event says RequestCancelled, with cancelledBy;
- otherwise: delete the session if one was created (DeleteSession's logic, confirmation and
  all), then publish the Streaming Session Failed event with code ExecutionAborted,
  ExecutionTimedOut or the execution's own error.

The status-change event and the scheduled sweep (logic/sweep.py) both start reconciliations,
and AWS may deliver the event twice: the announcements table (logic/announcements.py) makes
them publish once between them. Its marker is read first (an execution already announced, or
settled, costs no history read), and publication is claimed with a conditional write.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from session_provisioning.errors import (
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationException,
)
from session_provisioning.jsontext import parse_json_object
from session_provisioning.logic.announcements import (
    AnnouncementsTable,
    claim,
    read_marker,
    record_published,
    record_settled,
    release,
)
from session_provisioning.logic.attempts import all_records, failed_record
from session_provisioning.logic.failures import describe_cleanup
from session_provisioning.logic.history import (
    aborted_error_and_cause,
    create_without_result,
    latest_state_with_session,
    published_terminal_event,
    ready_announcement,
)
from session_provisioning.logic.outcome import (
    cancellation,
    cancelled_error,
    execution_ending,
    failed_outcome,
    identifiers_from_input,
    ready_by_from_input,
)
from session_provisioning.logic.steps import create_session, delete_session, utc_now
from session_provisioning.models.events import FAILED_DETAIL_TYPE
from session_provisioning.models.reconciliation import AnnouncementMarker
from session_provisioning.models.workflow import CreatedSession, WorkflowState


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
    announcements: AnnouncementsTable,
    claimer: str,
    event_bus_name: str,
    event_source: str,
    now: datetime | None = None,
    time_left: Callable[[], float] = lambda: math.inf,
) -> dict[str, Any]:
    """Handles one Execution Status Change `detail`; returns what it did (for the log).

    `claimer` names this invocation (its Lambda request id, the same on Lambda's retries)."""
    status = detail.get("status")
    execution_arn = detail["executionArn"]
    started_at = now or utc_now()
    marker = read_marker(announcements, execution_arn)
    if marker is not None and (marker.state != "CLAIMED" or marker.held_by_another(claimer, started_at)):
        return {"action": "NONE", "reason": f"the announcements table says {marker.state}"}
    events = list(history(sfn_client, execution_arn))
    if published_terminal_event(events):
        return _settled(announcements, execution_arn, "a terminal event was already published", started_at)
    if ready_announcement(events) is not None:
        reason = "stopped while the Ready event was being published: READY won"
        return _settled(announcements, execution_arn, reason, started_at)

    # A create in flight is the latest attempt's (with fallbacks, an earlier attempt's state may
    # also hold a session, a CREATE_FAILED one): it is looked for first.
    state = _session_of_create_in_flight(events, nimble_client) or _workflow_state(
        latest_state_with_session(events)
    )
    cleanup = None
    if state is not None and state.created is not None:
        # Before the claim: a deletion is idempotent, and a claim held through a long deletion
        # would keep a concurrent reconciliation from publishing should this one die meanwhile.
        cleanup = describe_cleanup(delete_session(state, nimble_client, time_left=time_left))

    failed_at = now or utc_now()
    created: CreatedSession | None = state.created if state else None
    aborted = aborted_error_and_cause(events)
    cancel = cancellation(*(aborted if aborted[0] else (detail.get("error"), detail.get("cause"))))
    error = (
        cancelled_error(cancel)
        if cancel is not None
        else execution_ending(status, detail.get("error"), detail.get("cause")).model_copy(
            update={"step": "Execution", "retryable": status == "TIMED_OUT"}
        )
    )
    execution_input = parse_json_object(detail.get("input"))
    failed = failed_outcome(
        request_id=detail.get("name") or execution_arn.rsplit(":", 1)[-1],
        identifiers=identifiers_from_input(execution_input),
        ready_by=ready_by_from_input(execution_input),
        error=error,
        session=created.session.to_json() if created else None,
        cleanup=cleanup,
        cancelled_by=cancel.cancelled_by if cancel else None,
        attempts=all_records(state, failed_record(state, error)) if state is not None else None,
        requested_at=_from_epoch_millis(detail.get("startDate")) or failed_at,
        failed_at=failed_at,
    ).detail
    if not claim(announcements, execution_arn, claimer, failed_at):
        return {"action": "NONE", "reason": "another reconciliation claimed the announcement"}
    try:
        event_id = _publish(
            events_client, event_bus_name, event_source, FAILED_DETAIL_TYPE, failed.to_json(), execution_arn
        )
    except Exception:
        release(announcements, execution_arn, claimer)  # so that a retry publishes
        raise
    record_published(
        announcements,
        AnnouncementMarker(
            execution_arn=execution_arn,
            state="PUBLISHED",
            claimed_by=claimer,
            expires_at=announcements.expiry(failed_at),
            detail_type=FAILED_DETAIL_TYPE,
            event_id=event_id,
            code=error.code,
            cleanup=cleanup.to_json() if cleanup else None,
        ),
    )
    return {
        "action": "ANNOUNCED",
        "code": error.code,
        "sessionId": failed.session_id,
        "eventId": event_id,
        "cleanup": cleanup.to_json() if cleanup else None,
    }


def _settled(
    announcements: AnnouncementsTable, execution_arn: str, reason: str, now: datetime
) -> dict[str, Any]:
    """Nothing to publish; the marker spares the sweep's later runs this history read."""
    record_settled(announcements, execution_arn, reason, now)
    return {"action": "NONE", "reason": reason}


def _publish(
    events_client: Any, bus: str, source: str, detail_type: str, detail: dict[str, Any], execution_arn: str
) -> str:
    """The event's id once EventBridge accepted it."""
    response = events_client.put_events(
        Entries=[
            {
                "EventBusName": bus,
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "Resources": [execution_arn],
            }
        ]
    )
    if response.get("FailedEntryCount"):
        # Raised, so the function's async retries (and then its OnFailure queue) take over.
        raise RuntimeError(f"the {detail_type} event was not accepted: {response['Entries']}")
    return str(response["Entries"][0].get("EventId", ""))


def _session_of_create_in_flight(events: list[dict[str, Any]], nimble_client: Any) -> WorkflowState | None:
    """A CreateStreamingSession call that may have gone through unrecorded (a stop while it ran):
    the same call with the same client token answers with that session, which is then deleted.
    As FindCreatedSession does: when no call went through, this one makes the session."""
    state = _workflow_state(create_without_result(events))
    if state is None:
        return None
    try:
        return state.model_copy(update={"created": create_session(state, nimble_client)})
    except (ValidationException, ServiceQuotaExceededException, ResourceNotFoundException):
        return None  # refused for the request itself: no session was made by this call or earlier
    # Anything else (a refused permission, throttling, a fault) is raised: the invocation fails and
    # is retried, then lands in the dead-letter queue, rather than leave a session unfound.


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
