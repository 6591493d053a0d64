"""The streaming-session request: the seed's CreateStreamingSession constraints, in one place.

The HTTP API, the ValidateRequest step and the event details all use these models, so a
constraint changes here or nowhere.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from session_provisioning.models.base import WireModel

# The service model's instance-type enum (CreateStreamingSessionRequest.ec2InstanceType); a test
# ties the two, so the product never accepts a type the service would refuse, nor refuses one.
EC2_INSTANCE_TYPES = (
    "g4dn.xlarge",
    "g4dn.2xlarge",
    "g4dn.4xlarge",
    "g4dn.8xlarge",
    "g4dn.12xlarge",
    "g4dn.16xlarge",
    "g3.4xlarge",
    "g3s.xlarge",
    "g5.xlarge",
    "g5.2xlarge",
    "g5.4xlarge",
    "g5.8xlarge",
    "g5.16xlarge",
)
Ec2InstanceType = Literal[EC2_INSTANCE_TYPES]  # type: ignore[valid-type]

ClientToken = Annotated[str, StringConstraints(min_length=1, max_length=64)]
StudioId = Annotated[str, StringConstraints(min_length=1, max_length=256)]
StreamingImageId = Annotated[str, StringConstraints(min_length=0, max_length=22, pattern=r"^[a-zA-Z0-9-_]*$")]
# Ids and owners: the service publishes no length, and every character is copied into the
# workflow's state several times (request, session, event detail), whose limit (256 KiB) ends
# an execution past every Catch: 256 keeps the largest request far below it (test_limits.py).
MAX_IDENTIFIER_CHARS = 256
NonEmptyString = Annotated[str, StringConstraints(min_length=1, max_length=MAX_IDENTIFIER_CHARS)]

# Tags: AWS's general tag limits (Nimble Studio published none of its own), which the emulator
# enforces too. The request travels in the workflow's state several times over (the request,
# the session Nimble returns, the event detail), and a state over 256 KiB ends the execution
# past every Catch (States.DataLimitExceeded); MAX_TAGS_JSON_BYTES bounds what the character
# limits alone do not: non-ASCII text, whose JSON escapes take up to 12 bytes a character.
MAX_TAGS = 50
MAX_TAG_KEY_CHARS = 128
MAX_TAG_VALUE_CHARS = 256
RESERVED_TAG_PREFIX = "aws:"
MAX_TAGS_JSON_BYTES = 20 * 1024  # 50 tags of the longest ASCII keys and values fit


def json_bytes(value: object) -> int:
    """The size of ``value`` as JSON text with non-ASCII characters escaped (the larger measure)."""
    return len(json.dumps(value, separators=(",", ":")))


def _unreserved(key: str) -> str:
    if key.lower().startswith(RESERVED_TAG_PREFIX):
        raise ValueError(f"the prefix {RESERVED_TAG_PREFIX!r} is reserved for AWS")
    return key


def _within_json_budget(tags: dict[str, str]) -> dict[str, str]:
    if json_bytes(tags) > MAX_TAGS_JSON_BYTES:
        raise ValueError(f"the tags take more than {MAX_TAGS_JSON_BYTES} bytes as JSON")
    return tags


TagKey = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_TAG_KEY_CHARS), AfterValidator(_unreserved)
]
TagValue = Annotated[str, StringConstraints(max_length=MAX_TAG_VALUE_CHARS)]
Tags = Annotated[dict[TagKey, TagValue], Field(max_length=MAX_TAGS), AfterValidator(_within_json_budget)]


# Capacity fallback: at most this many other types to try after ec2InstanceType, in order.
MAX_FALLBACK_INSTANCE_TYPES = 5


def _distinct(types: list[str]) -> list[str]:
    if len(set(types)) != len(types):
        raise ValueError("each instance type may be listed once")
    return types


FallbackInstanceTypes = Annotated[
    list[Ec2InstanceType],
    Field(min_length=1, max_length=MAX_FALLBACK_INSTANCE_TYPES),
    AfterValidator(_distinct),
]

# readyBy on the wire and in the workflow's state: UTC, whole seconds, "Z" (the form a Wait
# state's TimestampPath accepts). The model checks the shape only; whether the time is in the
# future is the API's check when it accepts a new request (a replay is answered as always).
READY_BY_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def normalised_ready_by(text: str) -> str:
    """An ISO 8601 time with an offset (or Z), as UTC text with whole seconds (fractions dropped)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("must be an ISO 8601 date and time, such as 2030-01-31T09:00:00Z") from None
    if moment.tzinfo is None:
        raise ValueError("must give its offset from UTC (Z or +hh:mm)")
    return moment.astimezone(UTC).strftime(READY_BY_FORMAT)


def ready_by_time(text: str) -> datetime:
    """A normalised readyBy as an aware datetime."""
    return datetime.strptime(text, READY_BY_FORMAT).replace(tzinfo=UTC)


ReadyBy = Annotated[str, StringConstraints(max_length=64), AfterValidator(normalised_ready_by)]


class RequestModel(WireModel):
    """Strict models of what a client sends, as Nimble Studio validates it."""

    # strict: "123" is not a number and 123 is not a string, as in the service.
    # forbid: a misspelt member ("ownedby") is an error, not silently dropped.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class SessionRequestBody(RequestModel):
    """The body of `POST /studios/{studioId}/streaming-sessions` (= CreateStreamingSession's body)."""

    # The members are declared here only: the workflow's ProvisioningRequest extends this model.

    launch_profile_id: NonEmptyString
    ec2_instance_type: Ec2InstanceType | None = None
    owned_by: NonEmptyString | None = None
    streaming_image_id: StreamingImageId | None = None
    tags: Tags | None = None
    # Ours, not CreateStreamingSession's: the workflow reads them, Nimble Studio never sees them.
    fallback_instance_types: FallbackInstanceTypes | None = None
    ready_by: ReadyBy | None = None

    @field_validator("fallback_instance_types")
    @classmethod
    def _fallbacks_follow_the_type(cls, types: list[str] | None, info: ValidationInfo) -> list[str] | None:
        # A field validator, so the error names fallbackInstanceTypes; ec2InstanceType is declared
        # first, hence validated first (absent from info.data when it was itself invalid).
        if types is None or "ec2_instance_type" not in info.data:
            return types
        first = info.data["ec2_instance_type"]
        if first is None:
            raise ValueError("needs ec2InstanceType (the type to try first)")
        if first in types:
            raise ValueError("must not repeat ec2InstanceType")
        return types

    def to_wire(self) -> dict:
        """The members that were given, camelCase, as our API takes them."""
        return self.model_dump(by_alias=True, exclude_none=True, include=set(SessionRequestBody.model_fields))

    def to_nimble(self) -> dict:
        """CreateStreamingSession's members that were given (not the workflow's own)."""
        return self.model_dump(by_alias=True, exclude_none=True, include=NIMBLE_MEMBERS)


# The body members that are CreateStreamingSession's.
NIMBLE_MEMBERS = frozenset(
    {"launch_profile_id", "ec2_instance_type", "owned_by", "streaming_image_id", "tags"}
)


class ProvisioningInput(RequestModel):
    """The execution input the API starts the state machine with.

    It holds only what the client sent, so the same request always gives the same input:
    Step Functions compares inputs to tell a replay from a conflicting reuse of a token.
    """

    studio_id: StudioId
    client_token: ClientToken
    request: SessionRequestBody
