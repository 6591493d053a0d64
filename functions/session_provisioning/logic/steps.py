"""The workflow's steps as plain functions: state in, result out, the SDK client passed in.

Handlers (session_provisioning.handlers.*) only parse the event, set up observability and
call these; tests call these directly.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from session_provisioning.clock import Clock, elapsed_seconds, utc_now
from session_provisioning.errors import InvalidPollingPolicy, ValidationException, from_sdk_error
from session_provisioning.logic.attempts import ready_records
from session_provisioning.logic.ready_by import delayed_detail, ready_by_timings, schedule_for
from session_provisioning.logic.schedule import GET, Scheduler, Unscheduled, wake_time
from session_provisioning.models.base import describe_errors, field_names
from session_provisioning.models.request import ProvisioningInput
from session_provisioning.models.session import FAILED_STATES, PENDING_STATES, READY_STATE, StreamingSession
from session_provisioning.models.workflow import (
    CleanupResult,
    CreatedSession,
    PollingPolicy,
    PollOutcome,
    PollResult,
    ProvisioningRequest,
    WorkflowState,
)

if TYPE_CHECKING:
    from session_provisioning.models.events import ReadyDetail


def validate_request(event: dict[str, Any]) -> dict[str, Any]:
    """ValidateRequest: the execution input through the API's model, plus the polling policy.

    Returns the new execution state: {"request": ProvisioningRequest, "polling": PollingPolicy,
    "attempt": the first Attempt}.
    """
    try:
        execution = ProvisioningInput.model_validate(event.get("execution"))
    except ValidationError as error:
        raise ValidationException(
            describe_errors(error.errors()),
            step="ValidateRequest",
            http_status=400,
            fields=field_names(error.errors()),
        ) from error
    try:
        polling = PollingPolicy.model_validate(event.get("polling"))
    except ValidationError as error:
        raise InvalidPollingPolicy(describe_errors(error.errors()), step="ValidateRequest") from error
    request = ProvisioningRequest(
        requestId=event["requestId"],
        requestedAt=event["requestedAt"],
        studioId=execution.studio_id,
        clientToken=execution.client_token,
        **execution.request.to_wire(),
    )
    attempts = 1 + len(request.fallback_instance_types or [])
    if attempts > polling.attempts_that_fit():
        raise ValidationException(
            f"fallbackInstanceTypes: {attempts} attempts, each with the poll budget, would exceed one "
            f"execution's history; at most {polling.attempts_that_fit() - 1} fallback types fit this polling policy",
            step="ValidateRequest",
            http_status=400,
            fields=["fallbackInstanceTypes"],
        )
    lead_seconds = event.get("readyByLeadSeconds", 0)
    if not isinstance(lead_seconds, int) or lead_seconds < 0:
        raise InvalidPollingPolicy("readyByLeadSeconds must be a whole number >= 0", step="ValidateRequest")
    # The shape of readyBy only (the model's), not the clock: the API checked that on acceptance,
    # and a start time already past starts provisioning at once.
    schedule = schedule_for(request.ready_by, lead_seconds).to_json() if request.ready_by else None
    return {
        "request": request.to_json(),
        "polling": polling.to_json(),
        "schedule": schedule,
        "attempt": request.first_attempt().to_json(),
    }


def create_session(state: WorkflowState, client: Any) -> CreatedSession:
    """CreateSession: CreateStreamingSession with the current attempt's client token and type.

    The token makes the call idempotent: when Step Functions retries this step (a throttle, a
    Lambda timeout after the call went through), the service answers with the same session.
    Attempt 0 sends the request's own token; a fallback attempt its own (models.attempts).
    """
    try:
        response = client.create_streaming_session(**state.request.create_parameters(state.current_attempt()))
    except (ClientError, BotoCoreError) as error:
        raise from_sdk_error(error, step="CreateSession") from error
    session = StreamingSession.from_sdk(response["session"])
    return CreatedSession(sessionId=session.session_id, session=session)


def classify(session: StreamingSession) -> PollOutcome:
    if session.state == READY_STATE:
        return PollOutcome.READY
    if session.state in PENDING_STATES:
        return PollOutcome.PENDING
    if session.state in FAILED_STATES:
        return PollOutcome.FAILED
    return PollOutcome.UNEXPECTED


# Room for one more GetStreamingSession after a sleep: the client's connect and read timeouts.
CALL_HEADROOM_SECONDS = 12.0
# Slots are whole milliseconds, rounded up: a slot one interval away may be that much further.
SLOT_ROUNDING_SECONDS = 0.002


def poll_session(
    state: WorkflowState,
    client: Any,
    *,
    sleep: Callable[[float], None] = time.sleep,
    now: Clock = utc_now,
    time_left: Callable[[], float] = lambda: math.inf,
    scheduler: Scheduler | None = None,
) -> PollResult:
    """PollSession: GetStreamingSession until it leaves the pending states, within the budget.

    Each check happens at a slot reserved in the account-wide schedule (logic.schedule): the
    first at the one the state machine waited for, each next one `intervalSeconds` later or
    the first free slot after that. When the next slot is only the interval away (the account
    is not busy) and `checksPerPoll` allows, the invocation sleeps until it and checks again:
    a few Lambda seconds instead of Wait/Task/Choice transitions, which cost more (README,
    Performance). When the schedule has pushed the slot further (many sessions in flight), or
    the Lambda's remaining time (`time_left`, seconds) runs short, it returns the slot as
    `nextPollAt` for WaitBetweenPolls, so no Lambda is held while the account is busy.
    The budget is a number of checks (`maxChecks`, from `budgetSeconds`), like the SDK waiter's
    maxAttempts: deterministic, and it bounds the execution history.
    """
    if state.polling is None or state.created is None:
        raise ValueError("PollSession needs the polling policy and the created session")
    scheduler = scheduler or Unscheduled()
    policy = state.polling
    checks = state.poll.checks if state.poll else 0
    session = state.poll.session if state.poll else state.created.session
    outcome = PollOutcome.PENDING
    next_slot: float | None = None
    for _ in range(max(min(policy.checks_per_poll, policy.max_checks - checks), 0)):
        if next_slot is not None:  # every check after the first: the slot reserved for it
            wait = max(next_slot - now().timestamp(), 0.0)
            if (
                wait > policy.interval_seconds + SLOT_ROUNDING_SECONDS
                or time_left() < wait + CALL_HEADROOM_SECONDS
            ):
                break
            sleep(wait)
            next_slot = None
        try:
            response = client.get_streaming_session(
                studioId=state.request.studio_id, sessionId=state.created.session_id
            )
        except (ClientError, BotoCoreError) as error:
            raise from_sdk_error(error, step="PollSession") from error
        checks += 1
        session = StreamingSession.from_sdk(response["session"])
        outcome = classify(session)
        if outcome is not PollOutcome.PENDING or checks >= policy.max_checks:
            break
        try:
            next_slot = scheduler.reserve(GET, now().timestamp() + policy.interval_seconds)
        except (ClientError, BotoCoreError) as error:
            raise from_sdk_error(error, step="PollSession") from error
    if outcome is PollOutcome.PENDING and checks >= policy.max_checks:
        outcome = PollOutcome.TIMED_OUT
    checked_at = now()
    detail = ready_detail(state, session, checked_at).to_json() if outcome is PollOutcome.READY else None
    delayed = delayed_detail(state, session, checked_at) if outcome is PollOutcome.PENDING else None
    next_poll_at = wake_time(next_slot) if outcome is PollOutcome.PENDING and next_slot is not None else None
    return PollResult(
        outcome=outcome,
        checks=checks,
        session=session,
        detail=detail,
        delayed=delayed,
        nextPollAt=next_poll_at,
    )


def ready_detail(state: WorkflowState, session: StreamingSession, ready_at: datetime) -> ReadyDetail:
    # Imported here: only the poll that finds the session READY builds the event's detail, and
    # importing the event models builds all of them, at every cold start of four steps.
    from session_provisioning.models.events import ReadyDetail, Timings

    request = state.request
    return ReadyDetail.model_validate(
        {
            **request.identifiers(),
            "requestId": request.request_id,
            "ownedBy": session.owned_by or request.owned_by,
            "sessionId": session.session_id,
            "ec2InstanceType": session.ec2_instance_type or state.current_attempt().ec2_instance_type,
            "session": session.to_json(),
            "attempts": ready_records(state, session),
            "timings": Timings(
                requestedAt=request.requested_at,
                readyAt=ready_at,
                secondsElapsed=elapsed_seconds(request.requested_at, ready_at),
                **ready_by_timings(request.ready_by, ready_at, ready=True),
            ),
        }
    )


def delete_token(client_token: str, attempt: int = 0) -> str:
    """A deletion token derived from the request's: a retried step repeats the same delete,
    and only a deliberate new attempt (after DELETE_FAILED) is a new one."""
    return f"delete-{attempt}-" + hashlib.sha256(client_token.encode()).hexdigest()[:40]


# DeleteSession re-issues a delete that ended DELETE_FAILED at most this many times.
MAX_DELETE_REQUESTS = 3


def delete_session(
    state: WorkflowState,
    client: Any,
    *,
    sleep: Callable[[float], None] = time.sleep,
    time_left: Callable[[], float] = lambda: math.inf,
) -> CleanupResult:
    """DeleteSession: remove a created session that will never be announced READY.

    "Deleted" is said only once the service shows DELETED: the step asks for the deletion,
    then follows the session (like the SDK's StreamingSessionDeleted waiter, at the polling
    interval) while its Lambda has time, asking again after a DELETE_FAILED. A deletion still
    under way when time runs out is reported as DELETE_REQUESTED, not as done.
    """
    if state.created is None:
        return CleanupResult(action="NOT_CREATED")
    studio_id, session_id = state.request.studio_id, state.created.session_id
    interval = max(state.polling.interval_seconds if state.polling else 5, 1)
    requests_made = 0
    session_state: str | None = None
    while True:
        if session_state in (None, "DELETE_FAILED") and requests_made < MAX_DELETE_REQUESTS:
            try:
                response = client.delete_streaming_session(
                    studioId=studio_id,
                    sessionId=session_id,
                    clientToken=delete_token(state.request.client_token, attempt=requests_made),
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                    return CleanupResult(action="ALREADY_GONE")
                raise from_sdk_error(error, step="DeleteSession") from error
            except BotoCoreError as error:
                raise from_sdk_error(error, step="DeleteSession") from error
            requests_made += 1
            session_state = response["session"].get("state")
            if session_state == "DELETED" and requests_made == 1:
                return CleanupResult(action="ALREADY_GONE", state=session_state)  # someone else did
        if session_state == "DELETED":
            return CleanupResult(action="DELETED", state=session_state)
        if time_left() < interval + CALL_HEADROOM_SECONDS or (
            session_state == "DELETE_FAILED" and requests_made >= MAX_DELETE_REQUESTS
        ):
            return CleanupResult(action="DELETE_REQUESTED", state=session_state)
        sleep(interval)
        try:
            response = client.get_streaming_session(studioId=studio_id, sessionId=session_id)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return CleanupResult(action="DELETED")
            # The deletion was accepted; only its confirmation failed. Retrying the step would
            # ask for it again, so report what is known instead.
            return CleanupResult(action="DELETE_REQUESTED", state=session_state)
        except BotoCoreError:
            return CleanupResult(action="DELETE_REQUESTED", state=session_state)
        session_state = response["session"].get("state")
