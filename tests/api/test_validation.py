"""POST validation: every rule gives 400 ValidationException naming each offending field, and
nothing starts. The constraints themselves live in models/request.py; these are the cases a
client can get wrong."""

from __future__ import annotations

import pytest

from session_provisioning.api.body import MAX_BODY_BYTES
from session_provisioning.models.request import MAX_IDENTIFIER_CHARS
from tests.support.api import valid_body


@pytest.fixture
def nothing_starts(api):
    before = len(api.executions())
    yield
    assert len(api.executions()) == before, "an invalid request started a workflow"


def assert_invalid(reply, fields):
    assert reply.status == 400, reply
    assert reply.body["code"] == "ValidationException"
    assert reply.body["fields"] == fields
    assert reply.body["message"]
    for name in fields:
        assert name in reply.body["message"] or name == "(body)"
    assert set(reply.body) == {"code", "message", "fields"}
    assert reply.header("Content-Type") == "application/json"


TOO_LONG = "x" * (MAX_IDENTIFIER_CHARS + 1)

INVALID_BODIES = {
    "launchProfileId missing": ({"streamingImageId": "image-local"}, ["launchProfileId"]),
    "launchProfileId null": ({"launchProfileId": None}, ["launchProfileId"]),
    "launchProfileId empty": ({"launchProfileId": ""}, ["launchProfileId"]),
    "launchProfileId too long": ({"launchProfileId": TOO_LONG}, ["launchProfileId"]),
    "launchProfileId a number": ({"launchProfileId": 42}, ["launchProfileId"]),
    "ec2InstanceType not offered": (valid_body(ec2InstanceType="m5.large"), ["ec2InstanceType"]),
    "ec2InstanceType wrong case": (valid_body(ec2InstanceType="G4DN.XLARGE"), ["ec2InstanceType"]),
    "ec2InstanceType a list": (valid_body(ec2InstanceType=["g4dn.xlarge"]), ["ec2InstanceType"]),
    "ownedBy empty": (valid_body(ownedBy=""), ["ownedBy"]),
    "ownedBy too long": (valid_body(ownedBy=TOO_LONG), ["ownedBy"]),
    "ownedBy an object": (valid_body(ownedBy={"name": "artist"}), ["ownedBy"]),
    "streamingImageId too long": (valid_body(streamingImageId="i" * 23), ["streamingImageId"]),
    "streamingImageId bad character": (valid_body(streamingImageId="image local"), ["streamingImageId"]),
    "streamingImageId a number": (valid_body(streamingImageId=7), ["streamingImageId"]),
    "tags a list": (valid_body(tags=["team"]), ["tags"]),
    "tags value a number": (valid_body(tags={"team": "fx", "shot": 10}), ["tags.shot"]),
    "tags value null": (valid_body(tags={"team": None}), ["tags.team"]),
    "fallbackInstanceTypes without ec2InstanceType": (
        {"launchProfileId": "lp-local", "fallbackInstanceTypes": ["g5.xlarge"]},
        ["fallbackInstanceTypes"],
    ),
    "fallbackInstanceTypes repeating ec2InstanceType": (
        valid_body(ec2InstanceType="g5.xlarge", fallbackInstanceTypes=["g5.xlarge"]),
        ["fallbackInstanceTypes"],
    ),
    "fallbackInstanceTypes empty": (
        valid_body(ec2InstanceType="g5.xlarge", fallbackInstanceTypes=[]),
        ["fallbackInstanceTypes"],
    ),
    "fallbackInstanceTypes more than 5": (
        valid_body(
            ec2InstanceType="g5.xlarge",
            fallbackInstanceTypes=[
                "g4dn.xlarge",
                "g4dn.2xlarge",
                "g4dn.4xlarge",
                "g4dn.8xlarge",
                "g5.2xlarge",
                "g3s.xlarge",
            ],
        ),
        ["fallbackInstanceTypes"],
    ),
    "fallbackInstanceTypes listed twice": (
        valid_body(ec2InstanceType="g5.xlarge", fallbackInstanceTypes=["g4dn.xlarge", "g4dn.xlarge"]),
        ["fallbackInstanceTypes"],
    ),
    "fallbackInstanceTypes not offered": (
        valid_body(ec2InstanceType="g5.xlarge", fallbackInstanceTypes=["m5.large"]),
        ["fallbackInstanceTypes.0"],
    ),
    "fallbackInstanceTypes a string": (
        valid_body(ec2InstanceType="g5.xlarge", fallbackInstanceTypes="g4dn.xlarge"),
        ["fallbackInstanceTypes"],
    ),
    "readyBy not a time": (valid_body(readyBy="tomorrow at nine"), ["readyBy"]),
    "readyBy without its offset": (valid_body(readyBy="2030-01-31T09:00:00"), ["readyBy"]),
    "readyBy a number": (valid_body(readyBy=1893488400), ["readyBy"]),
    "unknown member": (valid_body(instanceType="g4dn.xlarge"), ["instanceType"]),
    "misspelt member": ({"launchProfileID": "lp-local"}, ["launchProfileId", "launchProfileID"]),
    "several at once": (
        {"ec2InstanceType": "x", "streamingImageId": "a b", "tags": {"k": 1}, "extra": True},
        ["launchProfileId", "ec2InstanceType", "streamingImageId", "tags.k", "extra"],
    ),
    # readyBy's clock rule is the route's, checked after the model's rules: named together.
    "readyBy in the past beside a model error": (
        {
            "launchProfileId": "lp-local",
            "fallbackInstanceTypes": ["g5.xlarge"],
            "readyBy": "2020-01-01T09:00:00Z",
        },
        ["fallbackInstanceTypes", "readyBy"],
    ),
    "readyBy too far ahead beside a model error": (
        {"ec2InstanceType": "x", "readyBy": "2099-01-01T09:00:00+02:00"},
        ["launchProfileId", "ec2InstanceType", "readyBy"],
    ),
}


@pytest.mark.parametrize(("body", "fields"), INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
@pytest.mark.usefixtures("nothing_starts")
def test_invalid_member_is_named(api, token, body, fields):
    assert_invalid(api.create(body, token=token), fields)


INVALID_RAW_BODIES = {
    "malformed JSON": b'{"launchProfileId": "lp-local"',
    "trailing garbage": b'{"launchProfileId": "lp-local"} x',
    "not JSON at all": b"launchProfileId=lp-local",
    "an array": b'[{"launchProfileId": "lp-local"}]',
    "a string": b'"lp-local"',
    "a number": b"42",
    "null": b"null",
    "empty": b"",
    "whitespace only": b"   ",
    "invalid UTF-8": b'{"launchProfileId": "lp-\xff\xfe"}',
    "unpaired surrogate escape": b'{"launchProfileId": "lp-\\ud800"}',
    "NaN": b'{"launchProfileId": "lp-local", "tags": {"a": NaN}}',
    "duplicate member": b'{"launchProfileId": "lp-local", "launchProfileId": "lp-local-2"}',
    "nested too deeply": b'{"launchProfileId": "lp-local", "tags": ' + b"[" * 30000 + b"]" * 30000 + b"}",
    "one byte over the limit": b'{"launchProfileId": "lp-local"}'.ljust(MAX_BODY_BYTES + 1),
    "far over the limit": b'{"launchProfileId": "' + b"x" * (2 * MAX_BODY_BYTES) + b'"}',
}


@pytest.mark.parametrize("raw_body", INVALID_RAW_BODIES.values(), ids=INVALID_RAW_BODIES.keys())
@pytest.mark.usefixtures("nothing_starts")
def test_body_that_is_not_a_json_object_is_rejected(api, token, raw_body):
    reply = api.create(raw_body=raw_body, token=token, headers={"Content-Type": "application/json"})
    assert_invalid(reply, ["(body)"])


def test_body_of_exactly_the_limit_is_accepted(api, token):
    raw_body = b'{"launchProfileId": "lp-local"}'.ljust(MAX_BODY_BYTES)
    assert api.create(raw_body=raw_body, token=token).status == 202


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
@pytest.mark.usefixtures("nothing_starts")
def test_body_that_is_not_declared_json_is_rejected(api, token, content_type):
    reply = api.create(valid_body(), token=token, headers={"Content-Type": content_type})
    assert_invalid(reply, ["Content-Type"])


def test_json_content_type_with_charset_is_accepted(api, token):
    headers = {"Content-Type": "application/json; charset=utf-8"}
    assert api.create(valid_body(), token=token, headers=headers).status == 202


def test_missing_content_type_is_taken_as_json(api, token):
    assert api.create(raw_body=b'{"launchProfileId": "lp-local"}', token=token).status == 202


@pytest.mark.parametrize("bad_token", ["", "t" * 65, "t" * 200], ids=["empty", "65 chars", "200 chars"])
@pytest.mark.usefixtures("nothing_starts")
def test_client_token_outside_1_to_64_characters_is_rejected(api, bad_token):
    assert_invalid(api.create(valid_body(), token=bad_token), ["X-Amz-Client-Token"])


@pytest.mark.parametrize("length", [1, 64])
def test_client_token_of_1_and_64_characters_is_accepted(api, length, token):
    edge = (token * 3)[:length]
    reply = api.create(valid_body(), token=edge)
    assert reply.status == 202
    assert reply.body["clientToken"] == edge


def test_client_token_header_name_is_case_insensitive(api, token):
    reply = api.create(valid_body(), headers={"x-amz-client-token": token})
    assert reply.status == 202
    assert reply.body["clientToken"] == token


@pytest.mark.usefixtures("nothing_starts")
def test_invalid_body_and_token_are_reported_together(api):
    reply = api.create({"launchProfileId": ""}, token="")
    assert reply.status == 400
    assert set(reply.body["fields"]) == {"launchProfileId", "X-Amz-Client-Token"}


@pytest.mark.usefixtures("nothing_starts")
def test_studio_id_over_256_characters_is_rejected(api, token):
    assert_invalid(api.create(valid_body(), token=token, studio="s" * 257), ["studioId"])


def test_valid_edge_values_are_accepted(api, token):
    body = valid_body(
        launchProfileId="l" * MAX_IDENTIFIER_CHARS,
        ownedBy="o",
        streamingImageId="Image_local-22-chars__",
        ec2InstanceType="g5.16xlarge",
        tags={},
    )
    assert api.create(body, token=token).status == 202
