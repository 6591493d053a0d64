"""The streaming-session request: the seed's CreateStreamingSession constraints, in one place.

The HTTP API, the ValidateRequest step and the event details all use these models, so a
constraint changes here or nowhere.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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


class CamelModel(BaseModel):
    """Strict models with camelCase names on the wire, as Nimble Studio spells them."""

    # strict: "123" is not a number and 123 is not a string, as in the service.
    # forbid: a misspelt member ("ownedby") is an error, not silently dropped.
    # hide_input_in_errors: an error's text (logged, or in a Catch's Cause) names the field and
    # the rule, never the value, which may be an owner's name or a tag.
    model_config = ConfigDict(
        strict=True, extra="forbid", frozen=True, populate_by_name=True, hide_input_in_errors=True
    )


class SessionRequestBody(CamelModel):
    """The body of `POST /studios/{studioId}/streaming-sessions` (= CreateStreamingSession's body)."""

    launch_profile_id: NonEmptyString = Field(alias="launchProfileId")
    ec2_instance_type: Ec2InstanceType | None = Field(default=None, alias="ec2InstanceType")
    owned_by: NonEmptyString | None = Field(default=None, alias="ownedBy")
    streaming_image_id: StreamingImageId | None = Field(default=None, alias="streamingImageId")
    tags: dict[str, str] | None = Field(default=None, alias="tags")

    def to_wire(self) -> dict:
        """The members that were given, camelCase, as both our API and the Nimble API take them."""
        return self.model_dump(by_alias=True, exclude_none=True)


class ProvisioningInput(CamelModel):
    """The execution input the API starts the state machine with.

    It holds only what the client sent, so the same request always gives the same input:
    Step Functions compares inputs to tell a replay from a conflicting reuse of a token.
    """

    studio_id: StudioId = Field(alias="studioId")
    client_token: ClientToken = Field(alias="clientToken")
    request: SessionRequestBody = Field(alias="request")
