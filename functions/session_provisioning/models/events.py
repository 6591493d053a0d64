"""The detail of the two EventBridge events, the contract consumers build on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

READY_DETAIL_TYPE = "Streaming Session Ready"
FAILED_DETAIL_TYPE = "Streaming Session Failed"


class DetailModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", hide_input_in_errors=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class Timings(DetailModel):
    requested_at: datetime = Field(alias="requestedAt")
    ready_at: datetime | None = Field(default=None, alias="readyAt")
    failed_at: datetime | None = Field(default=None, alias="failedAt")
    seconds_elapsed: float = Field(alias="secondsElapsed", ge=0)

    @field_serializer("requested_at", "ready_at", "failed_at", when_used="json")
    def _serialize_time(self, value: datetime | None) -> str | None:
        return None if value is None else _iso(value)


class Identifiers(DetailModel):
    request_id: str = Field(alias="requestId")
    # None (left out of the event) only when the request was too broken to name them.
    client_token: str | None = Field(default=None, alias="clientToken")
    studio_id: str | None = Field(default=None, alias="studioId")
    launch_profile_id: str | None = Field(default=None, alias="launchProfileId")
    owned_by: str | None = Field(default=None, alias="ownedBy")
    session_id: str | None = Field(default=None, alias="sessionId")


class ReadyDetail(Identifiers):
    session_id: str = Field(alias="sessionId")
    session: dict[str, Any]
    timings: Timings


class FailureError(DetailModel):
    """Why a request failed. Which members are set depends on the kind of failure:

    - a Nimble API error: code (exception name), httpStatus, retryable, message, step;
    - the session failed (CREATE_FAILED, START_FAILED): code = its statusCode, state, message;
    - the poll budget ran out: code SessionNotReadyInTime;
    - any other state: code UnexpectedSessionState, state;
    - invalid input: code ValidationException, fields;
    - our own fault: code InternalError (or the Step Functions / Lambda error name), step.
    """

    code: str
    message: str
    step: str | None = None
    http_status: int | None = Field(default=None, alias="httpStatus")
    retryable: bool | None = None
    state: str | None = None
    fields: list[str] | None = None


class Cleanup(DetailModel):
    """What happened to a created session that never became READY."""

    session_deleted: bool = Field(alias="sessionDeleted")
    action: str
    message: str | None = None


class FailedDetail(Identifiers):
    error: FailureError
    cleanup: Cleanup | None = None
    session: dict[str, Any] | None = None
    timings: Timings | None = None
