import json

import pytest
from pydantic import ValidationError

from session_provisioning.models.base import field_names
from session_provisioning.models.request import EC2_INSTANCE_TYPES, ProvisioningInput, SessionRequestBody
from session_provisioning.nimble import NIMBLE_DATA_PATH


def fields_of(body):
    with pytest.raises(ValidationError) as caught:
        SessionRequestBody.model_validate(body)
    return field_names(caught.value.errors())


def test_minimal_body_is_valid():
    assert SessionRequestBody.model_validate({"launchProfileId": "lp"}).to_wire() == {"launchProfileId": "lp"}


@pytest.mark.parametrize("instance_type", EC2_INSTANCE_TYPES)
def test_every_listed_instance_type_is_accepted(instance_type):
    body = {"launchProfileId": "lp", "ec2InstanceType": instance_type}
    assert SessionRequestBody.model_validate(body).ec2_instance_type == instance_type


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "launchProfileId"),
        ({"launchProfileId": ""}, "launchProfileId"),
        ({"launchProfileId": 7}, "launchProfileId"),
        ({"launchProfileId": "lp", "ec2InstanceType": "m5.large"}, "ec2InstanceType"),
        ({"launchProfileId": "lp", "streamingImageId": "x" * 23}, "streamingImageId"),
        ({"launchProfileId": "lp", "streamingImageId": "bad image"}, "streamingImageId"),
        ({"launchProfileId": "lp", "tags": {"team": 1}}, "tags.team"),
        ({"launchProfileId": "lp", "tags": ["a"]}, "tags"),
        ({"launchProfileId": "lp", "ownedBy": 3}, "ownedBy"),
        ({"launchProfileId": "lp", "ownedby": "typo"}, "ownedby"),
    ],
)
def test_each_violation_names_its_field(body, field):
    assert field in fields_of(body)


@pytest.mark.parametrize("image", ["", "a", "x" * 22, "img-0_9"])
def test_streaming_image_bounds(image):
    body = {"launchProfileId": "lp", "streamingImageId": image}
    assert SessionRequestBody.model_validate(body).streaming_image_id == image


@pytest.mark.parametrize(("token", "valid"), [("", False), ("t", True), ("t" * 64, True), ("t" * 65, False)])
def test_client_token_length(token, valid):
    execution = {"studioId": "s", "clientToken": token, "request": {"launchProfileId": "lp"}}
    if valid:
        assert ProvisioningInput.model_validate(execution).client_token == token
    else:
        with pytest.raises(ValidationError):
            ProvisioningInput.model_validate(execution)


def test_validation_errors_name_the_field_never_the_value():
    secret = "artist private name"
    with pytest.raises(ValidationError) as caught:
        SessionRequestBody.model_validate({"launchProfileId": "lp", "streamingImageId": secret})
    assert secret not in str(caught.value)
    assert "streamingImageId" in str(caught.value)


def test_instance_types_are_the_shipped_service_models():
    """The product accepts exactly the types CreateStreamingSession's input shape enumerates."""
    model = json.loads((NIMBLE_DATA_PATH / "nimble" / "2020-08-01" / "service-2.json").read_text())
    shape_name = model["shapes"]["CreateStreamingSessionRequest"]["members"]["ec2InstanceType"]["shape"]
    assert list(EC2_INSTANCE_TYPES) == model["shapes"][shape_name]["enum"]
