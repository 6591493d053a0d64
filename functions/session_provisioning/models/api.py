"""What the HTTP API answers: the 202 for a new request, a request's status, and every error.

The request body is `models.request.SessionRequestBody` (the seed's constraints live there).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from session_provisioning.models.attempts import AttemptRecord
from session_provisioning.models.base import WireModel
from session_provisioning.models.events import Cleanup, FailureError

RequestState = Literal["SCHEDULED", "IN_PROGRESS", "READY", "FAILED", "CANCELLED"]


class ApiModel(WireModel):
    model_config = ConfigDict(extra="forbid")


class RequestAccepted(ApiModel):
    """202 Accepted: the workflow runs (or ran) under `requestId`; poll the `Location` for its status."""

    request_id: str = Field(description="Opaque and URL-safe; the same for a replay.")
    client_token: str = Field(
        description="The X-Amz-Client-Token sent, or the one generated for this request."
    )
    studio_id: str
    status: Literal["IN_PROGRESS"] = Field(
        default="IN_PROGRESS", description="Always IN_PROGRESS: the request was accepted; GET its status."
    )


class RequestError(FailureError):
    """Why a request FAILED: the `error` of its Streaming Session Failed event.

    Besides those members, ExecutionTimedOut / ExecutionAborted (the workflow itself was
    stopped) and any Step Functions error name can appear as `code`.
    """

    # allow: a member the workflow adds to its failure detail later is passed on, not rejected.
    model_config = ConfigDict(extra="allow")


class RequestStatus(ApiModel):
    """200: where a request stands. `session` is set when READY (and when a failure carries it)."""

    request_id: str
    client_token: str
    studio_id: str
    status: RequestState
    session_id: str | None = Field(default=None, description="Once a session was created.")
    session: dict[str, Any] | None = Field(
        default=None, description="The StreamingSession (Nimble Studio's shape) when READY."
    )
    error: RequestError | None = Field(
        default=None, description="Why the request FAILED, or RequestCancelled when it was CANCELLED."
    )
    cleanup: Cleanup | None = Field(
        default=None, description="What became of a created session that never became READY."
    )
    provisioning_starts_at: str | None = Field(
        default=None,
        description="SCHEDULED only: when provisioning starts (readyBy minus the lead time, UTC).",
    )
    attempts: list[AttemptRecord] | None = Field(
        default=None,
        description="Each CreateStreamingSession attempt (its type, token, session and outcome) once "
        "there is one; while the request runs, for requests with readyBy or fallbackInstanceTypes.",
    )

    def to_json(self) -> dict[str, Any]:
        # Every top-level key is always there (null when it does not apply); the nested
        # objects list only the members that apply, as in the event detail.
        body = self.model_dump(mode="json", by_alias=True)
        for name in ("error", "cleanup"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value.model_dump(mode="json", by_alias=True, exclude_none=True)
        return body


class ErrorBody(ApiModel):
    """Every 4xx and 5xx answer of the API."""

    code: str = Field(description="ValidationException, ConflictException, ResourceNotFoundException, ...")
    message: str
    fields: list[str] | None = Field(
        default=None,
        description="ValidationException only: each offending field, dotted, as spelt on the wire "
        "(launchProfileId, tags.team, X-Amz-Client-Token, (body) for the body as a whole).",
    )
