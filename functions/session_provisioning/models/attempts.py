"""CreateStreamingSession attempts: the one being made, and each one as events and GET list it.

A request without `fallbackInstanceTypes` makes one attempt (index 0, the request's own client
token); with them, an attempt that cannot get capacity is followed by one on the next type.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from session_provisioning.models.base import WireModel
from session_provisioning.models.request import ClientToken

MAX_CLIENT_TOKEN_CHARS = 64
# 48 bits of SHA-256: two tokens that share their kept prefix still differ here.
_TOKEN_DIGEST_CHARS = 12


def attempt_client_token(request_token: str, index: int) -> str:
    """The client token of attempt `index`: the request's own for attempt 0; for a fallback,
    the request's token cut to fit, then "-fb<index>-" and a digest of (request token, index).

    Deterministic, so every retry of one attempt sends the same token (idempotent), and two
    attempts send different ones (the second is a new session, not a 409). The digest covers
    the whole token, so two long tokens that share the kept prefix stay apart. At most 64
    characters, Nimble Studio's limit, even when the request's token has 64.
    """
    if index == 0:
        return request_token
    digest = hashlib.sha256(json.dumps([request_token, index]).encode()).hexdigest()[:_TOKEN_DIGEST_CHARS]
    suffix = f"-fb{index}-{digest}"
    return request_token[: MAX_CLIENT_TOKEN_CHARS - len(suffix)] + suffix


class Attempt(WireModel):
    """The attempt the workflow is making (`$.attempt`): CreateSession and FindCreatedSession send
    its token and type."""

    model_config = ConfigDict(extra="ignore")

    index: int = Field(ge=0)
    ec2_instance_type: str | None = None
    client_token: ClientToken


class AttemptOutcome(StrEnum):
    READY = "READY"
    CREATE_FAILED = "CREATE_FAILED"  # the session ended CREATE_FAILED (code: its statusCode)
    ERROR = "ERROR"  # an API error or anything else that ended the attempt (code: its name)
    CANCELLED = "CANCELLED"
    IN_PROGRESS = "IN_PROGRESS"


class AttemptRecord(WireModel):
    """One attempt as the events and GET list it: never a session object, only its id."""

    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0)
    ec2_instance_type: str | None = Field(description="The type asked for (null: Nimble Studio's default).")
    client_token: str = Field(description="The client token this attempt sent.")
    session_id: str | None = Field(description="The session it made; null when none was made.")
    outcome: AttemptOutcome
    code: str | None = Field(
        description="Why it ended: a statusCode (INSUFFICIENT_CAPACITY), an error name, or null."
    )

    @model_serializer(mode="wrap")
    def _with_nulls(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Every member is always listed (null when it does not apply), even where the event
        # detail around it leaves out what does not apply.
        body = handler(self)
        names = ("ec2InstanceType", "sessionId", "code") if "clientToken" in body else ()
        for name in names:
            body.setdefault(name, None)
        return body
