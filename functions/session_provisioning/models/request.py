"""The streaming-session request: the seed's CreateStreamingSession constraints, in one place.

The HTTP API, the ValidateRequest step and the event details all use these models, so a
constraint changes here or nowhere.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, StringConstraints

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
NonEmptyString = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


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
    tags: dict[str, str] | None = None

    def to_wire(self) -> dict:
        """The members that were given, camelCase, as both our API and the Nimble API take them."""
        return self.model_dump(by_alias=True, exclude_none=True, include=set(SessionRequestBody.model_fields))


class ProvisioningInput(RequestModel):
    """The execution input the API starts the state machine with.

    It holds only what the client sent, so the same request always gives the same input:
    Step Functions compares inputs to tell a replay from a conflicting reuse of a token.
    """

    studio_id: StudioId
    client_token: ClientToken
    request: SessionRequestBody
