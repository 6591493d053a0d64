"""DescribeFailure: whatever went wrong, as the Streaming Session Failed detail.

Inputs, in the order they are consulted:
1. an error a Catch put under `caught` (the state's name says which step failed);
2. the PollSession outcome (FAILED, TIMED_OUT, UNEXPECTED);
and `cleanup` says what became of a created session. The execution input is read only to
name the request when validation itself failed.

When the current attempt failed for want of capacity and a fallback type is left
(logic.attempts), nothing is described: the result is {"nextAttempt": {"attempt", "attempts"}}
and the workflow's StartNextAttempt makes that attempt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from session_provisioning.errors import TRANSIENT_ERROR_CODES, TRANSIENT_PLATFORM_ERRORS
from session_provisioning.jsontext import parse_json_object
from session_provisioning.logic.attempts import all_records, failed_record, next_attempt
from session_provisioning.logic.outcome import failed_outcome, identifiers_from_input
from session_provisioning.logic.steps import utc_now
from session_provisioning.models.events import Cleanup, FailureError
from session_provisioning.models.workflow import CaughtError, CleanupResult, PollOutcome, WorkflowState

# The Task states in the order a request meets them.
_STEP_ORDER = (
    "ValidateRequest",
    "ReserveCallSlots",
    "CreateSession",
    "FindCreatedSession",
    "PollSession",
    "PublishReady",
    "DeleteSession",
    "DescribeFailure",
)

# Errors of the platform rather than of our code: the name itself is the most useful code.
_PLATFORM_ERROR_PREFIXES = ("States.", "Lambda.", "Sandbox.", "EventBridge.")


def error_from_caught(step: str, caught: CaughtError) -> FailureError:
    """The failure a Catch saw. Our steps raise JSON messages; anything else is reported as is."""
    cause = parse_json_object(caught.cause)
    error_message = cause.get("errorMessage") if cause else None
    structured = parse_json_object(error_message)
    if structured and isinstance(structured.get("code"), str) and isinstance(structured.get("message"), str):
        known = {name for name in FailureError.model_fields} | {"httpStatus"}
        return FailureError.model_validate(
            {"step": step} | {key: value for key, value in structured.items() if key in known}
        )
    if caught.error.startswith(_PLATFORM_ERROR_PREFIXES):
        return FailureError(
            code=caught.error,
            message=(error_message or caught.cause or caught.error)[:1024],
            step=step,
            retryable=caught.error in TRANSIENT_PLATFORM_ERRORS,
        )
    # An exception we did not anticipate (a bug): say so, with its type and message.
    return FailureError(
        code="InternalError",
        message=f"{caught.error}: {error_message or caught.cause or ''}"[:1024],
        step=step,
        retryable=False,
    )


def error_from_poll(state: WorkflowState) -> FailureError:
    poll = state.poll
    if poll is None:
        return FailureError(code="InternalError", message="no error and no poll outcome to describe")
    session = poll.session
    if poll.outcome is PollOutcome.FAILED:
        code = session.status_code or session.state
        message = session.status_message or f"The session ended in {session.state}."
    elif poll.outcome is PollOutcome.TIMED_OUT:
        budget = state.polling.budget_seconds if state.polling else None
        code = "SessionNotReadyInTime"
        message = f"The session was still {session.state} after {poll.checks} checks (budget {budget} s)."
    else:
        code = "UnexpectedSessionState"
        message = f"The session went to {session.state} while it was being provisioned."
    # Only running out of budget may pass by itself (a slow start); the other two will not.
    retryable = poll.outcome is PollOutcome.TIMED_OUT
    return FailureError(
        code=code, message=message, state=session.state, step="PollSession", retryable=retryable
    )


def describe_cleanup(cleanup: CleanupResult | CaughtError | None) -> Cleanup | None:
    if cleanup is None:
        return None
    if isinstance(cleanup, CaughtError):
        reason = error_from_caught("DeleteSession", cleanup)
        return Cleanup(
            sessionDeleted=False,
            action="DELETE_FAILED",
            message=f"{reason.code}: {reason.message}",
        )
    if cleanup.action == "NOT_CREATED":
        return None
    unconfirmed = cleanup.action == "DELETE_REQUESTED"
    return Cleanup(
        sessionDeleted=cleanup.action in {"DELETED", "ALREADY_GONE"},
        action=cleanup.action,
        message=f"Deletion was requested but not yet confirmed (last state {cleanup.state})."
        if unconfirmed
        else None,
    )


def describe_failure(event: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """Returns {"detail": FailedDetail, "cause": JSON text for the Fail state's Cause}."""
    failed_at = now or utc_now()
    raw_state = event.get("state") or {}
    try:
        state: WorkflowState | None = WorkflowState.model_validate(raw_state)
    except ValidationError:
        state = None  # validation failed: the request never became a ProvisioningRequest

    caught = {
        step: CaughtError.model_validate(value) for step, value in (raw_state.get("caught") or {}).items()
    }
    if caught:
        # With several (CreateSession, then FindCreatedSession...), the earliest step's error is
        # the cause of the rest; JSON objects have no order to rely on, the workflow does.
        step = min(
            caught, key=lambda name: _STEP_ORDER.index(name) if name in _STEP_ORDER else len(_STEP_ORDER)
        )
        error = error_from_caught(step, caught[step])
    elif state is not None:
        error = error_from_poll(state)
    else:
        error = FailureError(code="InternalError", message="the execution state could not be read")

    if error.retryable is None:
        error = error.model_copy(update={"retryable": error.code in TRANSIENT_ERROR_CODES})

    session = None
    attempts = None
    if state is not None:
        current = failed_record(state, error)
        following = next_attempt(state, error)
        if following is not None:
            finished = [entry.to_json() for entry in all_records(state, current)]
            return {"nextAttempt": {"attempt": following.to_json(), "attempts": finished}}
        attempts = all_records(state, current)
        identifiers = state.request.identifiers()
        latest = state.poll.session if state.poll else (state.created.session if state.created else None)
        session = latest.to_json() if latest else None
    else:
        identifiers = identifiers_from_input(event.get("executionInput"))
    return failed_outcome(
        request_id=event["requestId"],
        identifiers=identifiers,
        error=error,
        session=session,
        cleanup=describe_cleanup(state.cleanup) if state is not None else None,
        attempts=attempts,
        ready_by=state.request.ready_by if state is not None else None,
        requested_at=datetime.fromisoformat(event["requestedAt"].replace("Z", "+00:00")),
        failed_at=failed_at,
    ).to_json()
