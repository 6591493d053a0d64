"""Capacity fallback: how an attempt ended, and whether the next instance type is tried.

Only a want of capacity moves on to the next type: the session ended CREATE_FAILED with
statusCode INSUFFICIENT_CAPACITY (it holds nothing and is not deleted), or CreateSession was
refused with ServiceQuotaExceededException (no session was made). Any other failure ends the
request as it always did, and so does a capacity failure after which a session may still be
running (a cleanup ran): a new attempt never leaves an earlier session behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from session_provisioning.models.attempts import Attempt, AttemptOutcome, AttemptRecord
from session_provisioning.models.session import StreamingSession
from session_provisioning.models.workflow import PollOutcome, WorkflowState

if TYPE_CHECKING:
    from session_provisioning.models.events import FailureError

INSUFFICIENT_CAPACITY = "INSUFFICIENT_CAPACITY"
QUOTA_EXCEEDED = "ServiceQuotaExceededException"
CANCELLED_CODE = "RequestCancelled"


def record(
    state: WorkflowState, outcome: AttemptOutcome, code: str | None = None, session_id: str | None = None
) -> AttemptRecord:
    """The current attempt as the events list it."""
    attempt = state.current_attempt()
    created = state.created.session_id if state.created else None
    return AttemptRecord(
        index=attempt.index,
        ec2InstanceType=attempt.ec2_instance_type,
        clientToken=attempt.client_token,
        sessionId=session_id or created,
        outcome=outcome,
        code=code,
    )


def all_records(state: WorkflowState, current: AttemptRecord) -> list[AttemptRecord]:
    """Every attempt so far: the finished ones in the state, then the current one."""
    return [*state.attempts, current]


def ready_records(state: WorkflowState, session: StreamingSession) -> list[AttemptRecord]:
    return all_records(state, record(state, AttemptOutcome.READY, session_id=session.session_id))


def failed_record(state: WorkflowState, error: FailureError) -> AttemptRecord:
    """How the current attempt ended, given the request's error."""
    if error.code == CANCELLED_CODE:
        return record(state, AttemptOutcome.CANCELLED, error.code)
    if _ended_create_failed(state):
        return record(state, AttemptOutcome.CREATE_FAILED, error.code)
    return record(state, AttemptOutcome.ERROR, error.code)


def _ended_create_failed(state: WorkflowState) -> bool:
    poll = state.poll
    return poll is not None and poll.outcome is PollOutcome.FAILED and poll.session.state == "CREATE_FAILED"


def lacks_capacity(state: WorkflowState, error: FailureError) -> bool:
    """Whether the current attempt failed for want of capacity, leaving no session behind."""
    if state.cleanup is not None:
        return False
    if error.code == INSUFFICIENT_CAPACITY:
        return _ended_create_failed(state)
    return error.code == QUOTA_EXCEEDED and error.step == "CreateSession" and state.created is None


def next_attempt(state: WorkflowState, error: FailureError) -> Attempt | None:
    """The attempt on the next instance type, when this failure allows one and a type is left."""
    if not lacks_capacity(state, error):
        return None
    return state.request.attempt_at(state.current_attempt().index + 1)
