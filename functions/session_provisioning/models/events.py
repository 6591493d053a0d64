"""The detail of the two EventBridge events, the contract consumers build on."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field

from session_provisioning.models.attempts import AttemptRecord
from session_provisioning.models.base import IsoTime, WireModel

READY_DETAIL_TYPE = "Streaming Session Ready"
FAILED_DETAIL_TYPE = "Streaming Session Failed"
# Not a terminal event: readyBy passed before READY; the Ready or Failed event still follows.
DELAYED_DETAIL_TYPE = "Streaming Session Delayed"


class DetailModel(WireModel):
    model_config = ConfigDict(extra="forbid")


class Timings(DetailModel):
    requested_at: IsoTime
    ready_at: IsoTime | None = None
    failed_at: IsoTime | None = None
    seconds_elapsed: float = Field(ge=0)
    ready_by: str | None = Field(default=None, description="readyBy requests: the time asked for (UTC).")
    ready_by_met: bool | None = Field(
        default=None, description="readyBy requests: whether the session was READY by then."
    )


# An identifier an event names when the request has it: None (left out of the event) only when
# the request was too broken to name it, or, for sessionId, when no session was created.
KnownIfAny = Annotated[str | None, Field(default=None)]


class Identifiers(DetailModel):
    request_id: str
    client_token: KnownIfAny
    studio_id: KnownIfAny
    launch_profile_id: KnownIfAny
    owned_by: KnownIfAny
    session_id: KnownIfAny


# Every CreateStreamingSession attempt, in order (one for a request without fallbacks).
Attempts = Annotated[list[AttemptRecord], Field(min_length=1)]


class ReadyDetail(Identifiers):
    session_id: str
    ec2_instance_type: str | None = Field(default=None, description="The instance type of the session made.")
    session: dict[str, Any]
    attempts: Attempts
    timings: Timings


class DelayedDetail(Identifiers):
    """readyBy passed and the session is not READY yet (at most one per request)."""

    ready_by: str = Field(description="The time asked for (UTC).")
    state: str | None = Field(default=None, description="The session's state when readyBy passed.")
    attempts: Attempts
    checked_at: IsoTime = Field(description="When the delay was seen.")


class FailureError(DetailModel):
    """Why a request failed. Which members are set depends on the kind of failure:

    - a Nimble API error: code (exception name), httpStatus, retryable, message, step;
    - the session failed (CREATE_FAILED, START_FAILED): code = its statusCode, state, message;
    - the poll budget ran out: code SessionNotReadyInTime;
    - any other state: code UnexpectedSessionState, state;
    - invalid input: code ValidationException, fields;
    - our own fault: code InternalError (or the Step Functions / Lambda error name), step.
    """

    code: str = Field(description="The exception name, the session's statusCode, or a code of ours (above).")
    message: str = Field(description="What went wrong, for people.")
    step: str | None = None
    http_status: int | None = None
    retryable: bool | None = None
    state: str | None = None
    fields: list[str] | None = None


class Cleanup(DetailModel):
    """What happened to a created session that never became READY."""

    session_deleted: bool
    action: str
    message: str | None = None


class FailedDetail(Identifiers):
    error: FailureError
    cancelled_by: str | None = Field(
        default=None,
        description="error.code RequestCancelled only: who cancelled the request (the caller's identity).",
    )
    cleanup: Cleanup | None = None
    session: dict[str, Any] | None = None
    attempts: list[AttemptRecord] | None = Field(
        default=None, description="Every attempt; absent only when the request was too broken to make one."
    )
    timings: Timings | None = None
