"""A request's outcome, made and read in one place.

A request ends one of three ways, and each way has one producer here:

* READY: the execution's output is the Ready event's detail (PublishReady's OutputPath); the
  API reads it through :class:`ReadyOutput`, a model of its own, so the event may grow without
  changing the API, and a rename that would break the API fails its test.
* FAILED by the workflow: DescribeFailure builds the Failed detail and the Fail state's cause
  with :func:`failed_outcome`; the ASL's fallback `DescribeUnexpectedFailure` writes a cause of
  the same shape (:class:`FailureCause`), and a test reads it back.
* ended by Step Functions (stopped, timed out, failed outside every Catch): the reconciler
  builds the same Failed detail with :func:`failed_outcome` and :func:`execution_ending`.
* CANCELLED: the API stops the execution with error RequestCancelled and a :class:`CancelCause`
  (:func:`cancel_cause`); the reconciler announces it (:func:`cancelled_error`). READY wins
  over a cancel once PublishReady's putEvents went out or may have (:func:`ready_announcement`).

:func:`request_status` is the one reader: what `GET .../requests/{requestId}` says of an
execution.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, ValidationError

from session_provisioning.clock import elapsed_seconds
from session_provisioning.jsontext import parse_json_object
from session_provisioning.logic.attempts import all_records, record
from session_provisioning.logic.history import (
    aborted_error_and_cause,
    last_state_holding,
    ready_announcement,
    states_of,
)
from session_provisioning.models.api import RequestError, RequestStatus
from session_provisioning.models.attempts import AttemptOutcome, AttemptRecord
from session_provisioning.models.base import IsoTime, WireModel
from session_provisioning.models.events import Cleanup, FailedDetail, FailureError, Timings
from session_provisioning.models.request import normalised_ready_by
from session_provisioning.models.workflow import WorkflowState

# How Step Functions itself can end an execution, as the request's error.
_ENDINGS = {
    "ABORTED": ("ExecutionAborted", "The workflow was stopped before it finished."),
    "TIMED_OUT": ("ExecutionTimedOut", "The workflow ran past its time limit."),
}
IN_PROGRESS_STATUSES = frozenset({"RUNNING", "PENDING_REDRIVE"})
MAX_ERROR_MESSAGE_CHARS = 1024
CANCELLED_CODE = "RequestCancelled"


class CancelCause(WireModel):
    """StopExecution's cause (JSON text) when the API cancels a request."""

    model_config = ConfigDict(extra="ignore")

    cancelled_by: str | None = None
    cancelled_at: IsoTime | None = None


def cancel_cause(cancelled_by: str, cancelled_at: datetime) -> str:
    cause = CancelCause(cancelledBy=cancelled_by, cancelledAt=cancelled_at)
    return json.dumps(cause.to_json(), separators=(",", ":"))


def cancellation(error: str | None, cause: str | None) -> CancelCause | None:
    """The cancel an ABORTED execution records, or None when it was stopped otherwise."""
    if error != CANCELLED_CODE:
        return None
    try:
        return CancelCause.model_validate(parse_json_object(cause) or {})
    except ValidationError:
        return CancelCause()


def cancelled_error(cancel: CancelCause) -> FailureError:
    who = f" by {cancel.cancelled_by}" if cancel.cancelled_by else ""
    return FailureError(code=CANCELLED_CODE, message=f"The request was cancelled{who}.", retryable=False)


class FailureCause(WireModel):
    """The Fail state's Cause (JSON text): what GET shows of a FAILED request."""

    model_config = ConfigDict(extra="ignore")

    error: FailureError
    session_id: str | None = None
    cleanup: Cleanup | None = None
    attempts: list[AttemptRecord] | None = None


class ReadyOutput(WireModel):
    """What the API reads of a SUCCEEDED execution's output (the Ready detail carries more)."""

    model_config = ConfigDict(extra="ignore")

    session_id: str
    session: dict[str, Any]
    attempts: list[AttemptRecord] | None = None


@dataclass(frozen=True)
class FailedOutcome:
    detail: FailedDetail
    cause: FailureCause

    def to_json(self) -> dict[str, Any]:
        """DescribeFailure's result: {"detail": the event's detail, "cause": the Fail state's Cause}."""
        return {
            "detail": self.detail.to_json(),
            "cause": json.dumps(self.cause.to_json(), separators=(",", ":")),
        }


def failed_outcome(
    *,
    request_id: str,
    identifiers: dict[str, Any],
    error: FailureError,
    requested_at: datetime,
    failed_at: datetime,
    session: dict[str, Any] | None = None,
    cleanup: Cleanup | None = None,
    cancelled_by: str | None = None,
    attempts: list[AttemptRecord] | None = None,
    ready_by: str | None = None,
) -> FailedOutcome:
    """The Streaming Session Failed detail and the matching Fail cause, for any failure."""
    session_id = identifiers.get("sessionId") or (session or {}).get("sessionId")
    detail = FailedDetail.model_validate(
        {
            **identifiers,
            "requestId": request_id,
            "sessionId": session_id,
            "session": session,
            "error": error,
            "cleanup": cleanup,
            "cancelledBy": cancelled_by,
            "attempts": attempts,
            "timings": Timings(
                requestedAt=requested_at,
                failedAt=failed_at,
                secondsElapsed=elapsed_seconds(requested_at, failed_at),
                **({"readyBy": ready_by, "readyByMet": False} if ready_by else {}),
            ),
        }
    )
    return FailedOutcome(
        detail, FailureCause(error=error, sessionId=session_id, cleanup=cleanup, attempts=attempts)
    )


def execution_ending(status: str | None, error: str | None = None, cause: str | None = None) -> FailureError:
    """The error of an execution that Step Functions ended (not our Fail state)."""
    if status in _ENDINGS:
        code, message = _ENDINGS[status]
        return FailureError(code=code, message=message)
    return FailureError(
        code=error or "ExecutionFailed", message=(cause or "The workflow failed.")[:MAX_ERROR_MESSAGE_CHARS]
    )


def identifiers_from_input(execution_input: Any) -> dict[str, Any]:
    """The request's identifiers, best effort, from an execution input that may not be valid.

    Only strings are echoed back, cut to 256 characters.
    """
    raw = execution_input if isinstance(execution_input, dict) else {}
    body = raw.get("request") if isinstance(raw.get("request"), dict) else {}

    def text(value: Any) -> str | None:
        return value[:256] if isinstance(value, str) else None

    return {
        "clientToken": text(raw.get("clientToken")),
        "studioId": text(raw.get("studioId")),
        "launchProfileId": text(body.get("launchProfileId")),
        "ownedBy": text(body.get("ownedBy")),
    }


def ready_by_from_input(execution_input: Any) -> str | None:
    """The request's readyBy from an execution input that may not be valid: None unless it is one."""
    raw = execution_input if isinstance(execution_input, dict) else {}
    body = raw.get("request") if isinstance(raw.get("request"), dict) else {}
    ready_by = body.get("readyBy")
    if not isinstance(ready_by, str):
        return None
    try:
        return normalised_ready_by(ready_by)
    except ValueError:
        return None


WAIT_STATE = "WaitUntilProvisioningStarts"


def scheduled_start(events: Iterable[dict[str, Any]]) -> str | None:
    """provisioningStartsAt while the execution waits in WaitUntilProvisioningStarts, else None."""
    starts_at: str | None = None
    for state, event in states_of(events):
        if state != WAIT_STATE:
            continue
        if entered := event.get("stateEnteredEventDetails"):
            schedule = (parse_json_object(entered.get("input")) or {}).get("schedule")
            starts_at = schedule.get("provisioningStartsAt") if isinstance(schedule, dict) else None
        elif event.get("stateExitedEventDetails"):
            starts_at = None
    return starts_at


def attempts_so_far(events: Iterable[dict[str, Any]]) -> list[AttemptRecord] | None:
    """A running execution's attempts: the finished ones and the current one (IN_PROGRESS), from
    the last state input that names an attempt; None before the first."""
    latest = last_state_holding(events, "attempt", entered=True)
    try:
        current = WorkflowState.model_validate(latest) if latest else None
    except ValidationError:
        return None
    return all_records(current, record(current, AttemptOutcome.IN_PROGRESS)) if current else None


def request_status(
    execution: dict[str, Any],
    *,
    request_id: str,
    studio_id: str,
    history: Callable[[], Iterable[dict[str, Any]]] = lambda: (),
) -> RequestStatus | None:
    """What GET says of a DescribeExecution answer; None for a status this code does not know.

    `history` (GetExecutionHistory) is read for a running readyBy request (SCHEDULED while it
    waits) and for an ABORTED execution: READY when its Ready
    event went out (or may have) before the stop, CANCELLED when the API stopped it.
    """
    provisioning = parse_json_object(execution.get("input")) or {}
    common = {"requestId": request_id, "clientToken": provisioning.get("clientToken"), "studioId": studio_id}
    status = execution.get("status")
    if status in IN_PROGRESS_STATUSES:
        body = provisioning.get("request") if isinstance(provisioning.get("request"), dict) else {}
        if not (body.get("readyBy") or body.get("fallbackInstanceTypes")):
            return RequestStatus(status="IN_PROGRESS", **common)  # no history to read: as ever
        # SCHEDULED while waiting for the start time; the attempts so far once there is one.
        events = list(history())
        waiting = scheduled_start(events)
        if waiting:
            return RequestStatus(status="SCHEDULED", provisioningStartsAt=waiting, **common)
        return RequestStatus(status="IN_PROGRESS", attempts=attempts_so_far(events), **common)
    events = list(history()) if status == "ABORTED" else []
    announced = ready_announcement(events)
    if status == "SUCCEEDED" or announced is not None:
        output = announced if announced is not None else parse_json_object(execution.get("output"))
        ready = ReadyOutput.model_validate(output or {})
        return RequestStatus(
            status="READY",
            sessionId=ready.session_id,
            session=ready.session,
            attempts=ready.attempts,
            **common,
        )
    cancel = cancellation(*aborted_error_and_cause(events))
    if cancel is not None:
        error = RequestError.model_validate(cancelled_error(cancel).to_json())
        return RequestStatus(status="CANCELLED", error=error, **common)
    if status == "FAILED":
        try:
            cause = FailureCause.model_validate(parse_json_object(execution.get("cause")))
        except ValidationError:
            # Not our Fail state (an ASL runtime error, say): the error name and cause as they are.
            ending = execution_ending(status, execution.get("error"), execution.get("cause"))
            return RequestStatus(
                status="FAILED", error=RequestError(code=ending.code, message=ending.message), **common
            )
        return RequestStatus(
            status="FAILED",
            sessionId=cause.session_id,
            error=RequestError.model_validate(cause.error.to_json()),
            cleanup=cause.cleanup,
            attempts=cause.attempts,
            **common,
        )
    if status in _ENDINGS:
        ending = execution_ending(status)
        return RequestStatus(
            status="FAILED", error=RequestError(code=ending.code, message=ending.message), **common
        )
    return None
