"""The Nimble Studio botocore model and the client factory, with no server and no network.

Requests are answered in-process by a ``before-send`` hook; ``Endpoint._send`` is replaced by
a function that fails the test, so nothing can leave the process.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.endpoint
import botocore.retries.standard
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ClientError, ParamValidationError, WaiterError

from session_provisioning.nimble import NIMBLE_DATA_PATH, nimble_client

REGION = "us-east-1"
ENDPOINT = "http://127.0.0.1:9"
STUDIO = "studio-1"
SESSION = "session-abc"
BASE_PATH = f"/2020-08-01/studios/{STUDIO}/streaming-sessions"

OPERATIONS = {
    "CreateStreamingSession",
    "GetStreamingSession",
    "ListStreamingSessions",
    "DeleteStreamingSession",
    "StartStreamingSession",
    "StopStreamingSession",
}
IDEMPOTENT = {
    "CreateStreamingSession",
    "DeleteStreamingSession",
    "StartStreamingSession",
    "StopStreamingSession",
}
ERRORS = {
    "AccessDeniedException": 403,
    "ConflictException": 409,
    "InternalServerErrorException": 500,
    "ResourceNotFoundException": 404,
    "ServiceQuotaExceededException": 402,
    "ThrottlingException": 429,
    "ValidationException": 400,
}
INSTANCE_TYPES = [
    "g4dn.xlarge", "g4dn.2xlarge", "g4dn.4xlarge", "g4dn.8xlarge", "g4dn.12xlarge", "g4dn.16xlarge",
    "g3.4xlarge", "g3s.xlarge", "g5.xlarge", "g5.2xlarge", "g5.4xlarge", "g5.8xlarge", "g5.16xlarge",
]  # fmt: skip
STATES = [
    "CREATE_IN_PROGRESS", "DELETE_IN_PROGRESS", "READY", "DELETED", "CREATE_FAILED", "DELETE_FAILED",
    "STOP_IN_PROGRESS", "START_IN_PROGRESS", "STOPPED", "STOP_FAILED", "START_FAILED",
]  # fmt: skip
STATUS_CODES = [
    "STREAMING_SESSION_READY", "STREAMING_SESSION_DELETED", "STREAMING_SESSION_CREATE_IN_PROGRESS",
    "STREAMING_SESSION_DELETE_IN_PROGRESS", "INTERNAL_ERROR", "INSUFFICIENT_CAPACITY",
    "ACTIVE_DIRECTORY_DOMAIN_JOIN_ERROR", "NETWORK_CONNECTION_ERROR", "INITIALIZATION_SCRIPT_ERROR",
    "DECRYPT_STREAMING_IMAGE_ERROR", "NETWORK_INTERFACE_ERROR", "STREAMING_SESSION_STOPPED",
    "STREAMING_SESSION_STARTED", "STREAMING_SESSION_STOP_IN_PROGRESS",
    "STREAMING_SESSION_START_IN_PROGRESS", "AMI_VALIDATION_ERROR",
]  # fmt: skip
SESSION_MEMBERS = {
    "arn", "automaticTerminationMode", "backupMode", "createdAt", "createdBy", "ec2InstanceType",
    "launchProfileId", "maxBackupsToRetain", "ownedBy", "sessionId", "sessionPersistenceMode",
    "startedAt", "startedBy", "startedFromBackupId", "state", "statusCode", "statusMessage", "stopAt",
    "stoppedAt", "stoppedBy", "streamingImageId", "tags", "terminateAt", "updatedAt", "updatedBy",
    "volumeConfiguration", "volumeRetentionMode",
}  # fmt: skip
TIMESTAMP_MEMBERS = {"createdAt", "startedAt", "stopAt", "stoppedAt", "terminateAt", "updatedAt"}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def isolated_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Fake credentials, no shared config, no configured endpoints, and no way out."""
    for name in list(os.environ):
        if name.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_DATA_PATH")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLETESTONLY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake-secret-key-for-tests")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)

    def no_network(self, request):
        raise AssertionError(f"a request tried to leave the process: {request.method} {request.url}")

    monkeypatch.setattr(botocore.endpoint.Endpoint, "_send", no_network)
    # Standard-mode backoff would sleep between attempts; the attempt count is what we test.
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0)


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_kwargs: Any):
        yield self._data


@dataclass
class FakeNimble:
    """Answers every request from a queue of (status, headers, body); records what was sent."""

    responses: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)
    default: tuple[int, dict[str, str], Any] = (200, {}, {})
    requests: list[AWSPreparedRequest] = field(default_factory=list)

    def reply(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.responses.append((status, headers or {}, {} if body is None else body))

    def error(self, error_type: str, status: int, message: str = "nope", **extra: Any) -> None:
        self.reply(status, {"message": message, **extra}, {"x-amzn-ErrorType": error_type})

    def __call__(self, request: AWSPreparedRequest, **_kwargs: Any) -> AWSResponse:
        self.requests.append(request)
        status, headers, body = self.responses.pop(0) if self.responses else self.default
        payload = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": "req-1", **headers}
        return AWSResponse(request.url, status, headers, _Body(payload))

    @property
    def last(self) -> AWSPreparedRequest:
        return self.requests[-1]


def attach(client) -> FakeNimble:
    fake = FakeNimble()
    client.meta.events.register("before-send.nimble", fake)
    return fake


@pytest.fixture
def client():
    return nimble_client(endpoint_url=ENDPOINT, region_name=REGION)


@pytest.fixture
def fake(client) -> FakeNimble:
    return attach(client)


def session_body(state: str = "READY", **extra: Any) -> dict[str, Any]:
    return {
        "session": {
            "sessionId": SESSION,
            "state": state,
            "statusCode": "STREAMING_SESSION_READY",
            "launchProfileId": "lp-1",
            "ec2InstanceType": "g4dn.xlarge",
            "createdAt": "2024-01-02T03:04:05Z",
            "tags": {"team": "fx"},
            "volumeConfiguration": {"iops": 3000, "size": 500, "throughput": 125},
            **extra,
        }
    }


def header(request: AWSPreparedRequest, name: str) -> str | None:
    value = request.headers.get(name)
    return value.decode() if isinstance(value, bytes) else value


# --------------------------------------------------------------------------- the model loads


def test_factory_loads_all_operations_waiters_and_paginator(client) -> None:
    model = client.meta.service_model
    assert set(model.operation_names) == OPERATIONS
    assert sorted(client.waiter_names) == [
        "streaming_session_deleted",
        "streaming_session_ready",
        "streaming_session_stopped",
    ]
    assert client.can_paginate("list_streaming_sessions")
    for name in ("create", "get", "list", "delete", "start", "stop"):
        suffix = "streaming_sessions" if name == "list" else "streaming_session"
        assert callable(getattr(client, f"{name}_{suffix}"))


def test_service_metadata(client) -> None:
    meta = client.meta.service_model.metadata
    assert meta["apiVersion"] == "2020-08-01"
    assert meta["protocol"] == "rest-json"
    assert meta["jsonVersion"] == "1.1"
    assert meta["signatureVersion"] == "v4"
    assert meta["signingName"] == "nimble"
    assert meta["endpointPrefix"] == "nimble"
    assert meta["serviceId"] == "nimble"
    assert meta["serviceFullName"] == "AmazonNimbleStudio"
    assert meta["uid"] == "nimble-2020-08-01"


def test_model_files_carry_no_documentation_text() -> None:
    folder = NIMBLE_DATA_PATH / "nimble" / "2020-08-01"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["paginators-1.json", "service-2.json", "waiters-2.json"]
    for path in folder.iterdir():
        assert "documentation" not in path.read_text()


def test_client_config_retries_timeouts_user_agent() -> None:
    client = nimble_client(endpoint_url=ENDPOINT, region_name=REGION, connect_timeout=1.5, read_timeout=7)
    config = client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert config.connect_timeout == 1.5
    assert config.read_timeout == 7
    fake = attach(client)
    fake.reply(body=session_body())
    client.get_streaming_session(studioId=STUDIO, sessionId=SESSION)
    assert "nimble-session-provisioning" in header(fake.last, "User-Agent")


def test_region_comes_from_argument_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert nimble_client(region_name="eu-west-1").meta.region_name == "eu-west-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    client = nimble_client()
    assert client.meta.region_name == "ap-southeast-2"
    assert client.meta.endpoint_url == "https://nimble.ap-southeast-2.amazonaws.com"


def test_default_session_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    boto3.setup_default_session()
    nimble_client(endpoint_url=ENDPOINT, region_name=REGION)
    default_loader = boto3.DEFAULT_SESSION._session.get_component("data_loader")
    assert str(NIMBLE_DATA_PATH) not in default_loader.search_paths


def test_passed_session_gets_the_model_path_once_even_with_a_warm_loader_cache() -> None:
    session = boto3.Session(region_name=REGION)
    assert "nimble" not in session.get_available_services()  # warms the loader's cache
    nimble_client(boto3_session=session, endpoint_url=ENDPOINT)
    nimble_client(boto3_session=session, endpoint_url=ENDPOINT)
    loader = session._session.get_component("data_loader")
    assert loader.search_paths.count(str(NIMBLE_DATA_PATH)) == 1
    assert loader.search_paths[0] == str(NIMBLE_DATA_PATH)
    assert "nimble" in session.get_available_services()


def test_importing_the_package_does_not_import_boto3() -> None:
    code = "import sys, session_provisioning.nimble as n; print('boto3' in sys.modules, n.NIMBLE_DATA_PATH)"
    env = {**os.environ, "PYTHONPATH": "functions"}
    root = NIMBLE_DATA_PATH.parents[3]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "False"
    assert out[1] == str(NIMBLE_DATA_PATH)


# --------------------------------------------------------------------------- shapes and constraints


@pytest.fixture(scope="module")
def raw_model() -> dict[str, Any]:
    """The JSON itself, for traits botocore's model classes do not expose (idempotent, fault)."""
    return json.loads((NIMBLE_DATA_PATH / "nimble" / "2020-08-01" / "service-2.json").read_text())


def _members(client, operation: str):
    return client.meta.service_model.operation_model(operation).input_shape.members


def test_operations_http_bindings_errors_and_idempotency(client, raw_model: dict[str, Any]) -> None:
    expected = {
        "CreateStreamingSession": ("POST", "/2020-08-01/studios/{studioId}/streaming-sessions"),
        "ListStreamingSessions": ("GET", "/2020-08-01/studios/{studioId}/streaming-sessions"),
        "GetStreamingSession": ("GET", "/2020-08-01/studios/{studioId}/streaming-sessions/{sessionId}"),
        "DeleteStreamingSession": ("DELETE", "/2020-08-01/studios/{studioId}/streaming-sessions/{sessionId}"),
        "StartStreamingSession": (
            "POST",
            "/2020-08-01/studios/{studioId}/streaming-sessions/{sessionId}/start",
        ),
        "StopStreamingSession": (
            "POST",
            "/2020-08-01/studios/{studioId}/streaming-sessions/{sessionId}/stop",
        ),
    }
    for name, (method, uri) in expected.items():
        op = client.meta.service_model.operation_model(name)
        assert op.http == {"method": method, "requestUri": uri, "responseCode": 200}
        assert {shape.name for shape in op.error_shapes} == set(ERRORS)
        assert raw_model["operations"][name].get("idempotent", False) == (name in IDEMPOTENT)
        members = op.input_shape.members
        assert members["studioId"].serialization == {"location": "uri", "name": "studioId"}
        assert "studioId" in op.input_shape.required_members
        if "{sessionId}" in uri:
            assert members["sessionId"].serialization == {"location": "uri", "name": "sessionId"}
            assert "sessionId" in op.input_shape.required_members
        if name in IDEMPOTENT:
            token = members["clientToken"]
            assert token.serialization == {"location": "header", "name": "X-Amz-Client-Token"}
            assert token.metadata["idempotencyToken"] is True
            assert (token.metadata["min"], token.metadata["max"]) == (1, 64)
            assert op.idempotent_members == ["clientToken"]
        else:
            assert "clientToken" not in members


def test_create_request_shape(client) -> None:
    shape = client.meta.service_model.operation_model("CreateStreamingSession").input_shape
    assert set(shape.members) == {
        "clientToken",
        "ec2InstanceType",
        "launchProfileId",
        "ownedBy",
        "streamingImageId",
        "studioId",
        "tags",
    }
    assert sorted(shape.required_members) == ["launchProfileId", "studioId"]
    assert shape.members["ec2InstanceType"].enum == INSTANCE_TYPES
    image = shape.members["streamingImageId"]
    assert (image.metadata["min"], image.metadata["max"]) == (0, 22)
    assert image.metadata["pattern"] == "^[a-zA-Z0-9-_]*$"
    tags = shape.members["tags"]
    assert (tags.type_name, tags.key.type_name, tags.value.type_name) == ("map", "string", "string")


def test_list_query_members(client) -> None:
    members = _members(client, "ListStreamingSessions")
    for name in ("createdBy", "ownedBy", "sessionIds", "nextToken"):
        assert members[name].serialization == {"location": "querystring", "name": name}


#: The published StreamingSession's members and the shapes they reference (nimble-api-facts.md).
PUBLISHED_SESSION_SHAPES = {
    "arn": "String", "automaticTerminationMode": "AutomaticTerminationMode",
    "backupMode": "SessionBackupMode", "createdAt": "Timestamp", "createdBy": "String",
    "ec2InstanceType": "String", "launchProfileId": "String", "maxBackupsToRetain": "MaxBackupsToRetain",
    "ownedBy": "String", "sessionId": "StreamingSessionId", "sessionPersistenceMode": "SessionPersistenceMode",
    "startedAt": "Timestamp", "startedBy": "String", "startedFromBackupId": "String",
    "state": "StreamingSessionState", "statusCode": "StreamingSessionStatusCode", "statusMessage": "String",
    "stopAt": "Timestamp", "stoppedAt": "Timestamp", "stoppedBy": "String",
    "streamingImageId": "StreamingImageId", "tags": "Tags", "terminateAt": "Timestamp",
    "updatedAt": "Timestamp", "updatedBy": "String", "volumeConfiguration": "VolumeConfiguration",
    "volumeRetentionMode": "VolumeRetentionMode",
}  # fmt: skip


def test_streaming_session_members_reference_the_published_shapes(raw_model: dict[str, Any]) -> None:
    members = raw_model["shapes"]["StreamingSession"]["members"]
    assert {name: member["shape"] for name, member in members.items()} == PUBLISHED_SESSION_SHAPES
    # The instance-type enum types the input only.
    users = [
        (shape_name, member_name)
        for shape_name, shape in raw_model["shapes"].items()
        for member_name, member in shape.get("members", {}).items()
        if member["shape"] == "StreamingInstanceType"
    ]
    assert users == [("CreateStreamingSessionRequest", "ec2InstanceType")]


def test_an_instance_type_outside_the_enum_in_a_session_parses(client, fake: FakeNimble) -> None:
    fake.reply(200, {"session": {"sessionId": SESSION, "ec2InstanceType": "g6.xlarge", "state": "READY"}})
    session = client.get_streaming_session(studioId=STUDIO, sessionId=SESSION)["session"]
    assert session["ec2InstanceType"] == "g6.xlarge"


def test_start_and_stop_bodies(client) -> None:
    assert "backupId" in _members(client, "StartStreamingSession")
    assert _members(client, "StopStreamingSession")["volumeRetentionMode"].enum == ["RETAIN", "DELETE"]


def test_streaming_session_shape(client) -> None:
    model = client.meta.service_model
    session = model.shape_for("StreamingSession")
    members = session.members
    assert set(members) == SESSION_MEMBERS
    assert members["state"].enum == STATES
    assert members["statusCode"].enum == STATUS_CODES
    # As published: the output's instance type is a plain string (only the input is an enum), so
    # a session of a type added after this model was written still parses.
    assert (members["ec2InstanceType"].name, members["ec2InstanceType"].enum) == ("String", [])
    assert members["automaticTerminationMode"].enum == ["DEACTIVATED", "ACTIVATED"]
    assert members["backupMode"].enum == ["AUTOMATIC", "DEACTIVATED"]
    assert members["sessionPersistenceMode"].enum == ["DEACTIVATED", "ACTIVATED"]
    assert members["volumeRetentionMode"].enum == ["RETAIN", "DELETE"]
    for name in TIMESTAMP_MEMBERS:
        assert members[name].type_name == "timestamp"
        assert members[name].serialization["timestampFormat"] == "iso8601"
    backups = members["maxBackupsToRetain"]
    assert (backups.type_name, backups.metadata["min"], backups.metadata["max"]) == ("integer", 0, 10)
    volume = members["volumeConfiguration"].members
    ranges = {name: (m.type_name, m.metadata["min"], m.metadata["max"]) for name, m in volume.items()}
    assert ranges == {
        "iops": ("integer", 3000, 16000),
        "size": ("integer", 100, 16000),
        "throughput": ("integer", 125, 1000),
    }
    for name in ("Create", "Get", "Delete", "Start", "Stop"):
        output = model.operation_model(f"{name}StreamingSession").output_shape
        assert list(output.members) == ["session"]
        assert output.members["session"].name == "StreamingSession"
    listing = model.operation_model("ListStreamingSessions").output_shape.members
    assert set(listing) == {"sessions", "nextToken"}
    assert listing["sessions"].member.name == "StreamingSession"


@pytest.mark.parametrize(("code", "status"), sorted(ERRORS.items()))
def test_error_shapes(client, raw_model: dict[str, Any], code: str, status: int) -> None:
    shape = client.meta.service_model.shape_for(code)
    fault = raw_model["shapes"][code].get("fault", False)
    assert shape.metadata["exception"] is True
    assert shape.metadata["error"]["httpStatusCode"] == status
    assert set(shape.members) == {"code", "context", "message"}
    context = shape.members["context"]
    assert (context.type_name, context.key.type_name, context.value.type_name) == ("map", "string", "string")
    if status < 500:
        assert shape.metadata["error"]["senderFault"] is True
        assert fault is False
    else:
        assert fault is True
        assert "senderFault" not in shape.metadata["error"]
        assert shape.metadata["retryable"] == {"throttling": False}
    if code == "ThrottlingException":
        assert shape.metadata["retryable"] == {"throttling": True}
    elif status < 500:
        assert "retryable" not in shape.metadata


# --------------------------------------------------------------------------- client-side validation


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({}, "launchProfileId"),  # required member missing
        ({"launchProfileId": "lp-1", "clientToken": ""}, "clientToken"),  # below min length 1
        ({"launchProfileId": 7}, "launchProfileId"),  # wrong type
        ({"launchProfileId": "lp-1", "tags": {"team": 1}}, "tags"),  # map values are strings
        ({"launchProfileId": "lp-1", "tags": ["x"]}, "tags"),  # map, not list
    ],
)
def test_botocore_rejects_before_sending(client, fake: FakeNimble, kwargs: dict, fragment: str) -> None:
    with pytest.raises(ParamValidationError, match=fragment):
        client.create_streaming_session(studioId=STUDIO, **kwargs)
    assert fake.requests == []


def test_botocore_does_not_enforce_max_pattern_or_enum(client, fake: FakeNimble) -> None:
    """These constraints live in the model only; our own validation must apply them."""
    fake.reply(body=session_body())
    client.create_streaming_session(
        studioId=STUDIO,
        launchProfileId="lp-1",
        clientToken="t" * 65,
        streamingImageId="not valid!" * 3,
        ec2InstanceType="m5.large",
    )
    assert len(fake.requests) == 1
    token = client.meta.service_model.operation_model("CreateStreamingSession").input_shape.members[
        "clientToken"
    ]
    assert len("t" * 65) > token.metadata["max"]


def test_missing_session_id_is_rejected(client, fake: FakeNimble) -> None:
    with pytest.raises(ParamValidationError, match="sessionId"):
        client.get_streaming_session(studioId=STUDIO)
    assert fake.requests == []


# --------------------------------------------------------------------------- wire format


def test_create_serializes_signs_and_parses(client, fake: FakeNimble) -> None:
    fake.reply(body=session_body(state="CREATE_IN_PROGRESS"))
    result = client.create_streaming_session(
        studioId=STUDIO,
        clientToken="token-123",
        launchProfileId="lp-1",
        ec2InstanceType="g5.2xlarge",
        ownedBy="user-1",
        streamingImageId="image-1",
        tags={"team": "fx"},
    )
    request = fake.last
    assert request.method == "POST"
    assert request.url == f"{ENDPOINT}{BASE_PATH}"
    assert header(request, "X-Amz-Client-Token") == "token-123"
    assert header(request, "Content-Type") == "application/json"
    assert json.loads(request.body) == {
        "launchProfileId": "lp-1",
        "ec2InstanceType": "g5.2xlarge",
        "ownedBy": "user-1",
        "streamingImageId": "image-1",
        "tags": {"team": "fx"},
    }
    auth = header(request, "Authorization")
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLETESTONLY/")
    assert f"/{REGION}/nimble/aws4_request" in auth
    assert "x-amz-client-token" in auth.split("SignedHeaders=")[1]
    assert header(request, "X-Amz-Date")

    session = result["session"]
    assert session["state"] == "CREATE_IN_PROGRESS"
    assert session["createdAt"] == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert session["volumeConfiguration"] == {"iops": 3000, "size": 500, "throughput": 125}
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_create_fills_a_client_token_when_omitted(client, fake: FakeNimble) -> None:
    fake.reply(body=session_body())
    client.create_streaming_session(studioId=STUDIO, launchProfileId="lp-1")
    token = header(fake.last, "X-Amz-Client-Token")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", token)
    assert json.loads(fake.last.body) == {"launchProfileId": "lp-1"}


@pytest.mark.parametrize(
    ("method_name", "kwargs", "http_method", "path", "body"),
    [
        ("get_streaming_session", {}, "GET", f"{BASE_PATH}/{SESSION}", None),
        ("delete_streaming_session", {"clientToken": "tok"}, "DELETE", f"{BASE_PATH}/{SESSION}", None),
        ("start_streaming_session", {"clientToken": "tok", "backupId": "b-1"}, "POST",
         f"{BASE_PATH}/{SESSION}/start", {"backupId": "b-1"}),
        ("stop_streaming_session", {"clientToken": "tok", "volumeRetentionMode": "RETAIN"}, "POST",
         f"{BASE_PATH}/{SESSION}/stop", {"volumeRetentionMode": "RETAIN"}),
    ],
)  # fmt: skip
def test_session_operations_serialize(
    client, fake: FakeNimble, method_name: str, kwargs: dict, http_method: str, path: str, body: Any
) -> None:
    fake.reply(body=session_body())
    result = getattr(client, method_name)(studioId=STUDIO, sessionId=SESSION, **kwargs)
    request = fake.last
    assert request.method == http_method
    assert request.url == f"{ENDPOINT}{path}"
    if "clientToken" in kwargs:
        assert header(request, "X-Amz-Client-Token") == "tok"
    else:
        assert header(request, "X-Amz-Client-Token") is None
    if body is None:
        assert not request.body
    else:
        assert json.loads(request.body) == body
    assert header(request, "Authorization").startswith("AWS4-HMAC-SHA256 ")
    assert result["session"]["sessionId"] == SESSION


def test_idempotent_operations_fill_client_token(client, fake: FakeNimble) -> None:
    for call in (
        client.delete_streaming_session,
        client.start_streaming_session,
        client.stop_streaming_session,
    ):
        fake.reply(body=session_body())
        call(studioId=STUDIO, sessionId=SESSION)
        assert len(header(fake.last, "X-Amz-Client-Token")) == 36


def test_path_members_are_url_encoded(client, fake: FakeNimble) -> None:
    fake.reply(body=session_body())
    client.get_streaming_session(studioId="a b", sessionId="x/y")
    assert fake.last.url == f"{ENDPOINT}/2020-08-01/studios/a%20b/streaming-sessions/x%2Fy"


def test_list_serializes_query_and_paginates(client, fake: FakeNimble) -> None:
    fake.reply(body={"sessions": [session_body()["session"]], "nextToken": "page-2"})
    fake.reply(body={"sessions": [session_body(sessionId="session-2")["session"]]})
    paginator = client.get_paginator("list_streaming_sessions")
    pages = list(paginator.paginate(studioId=STUDIO, createdBy="u1", ownedBy="u2", sessionIds="s1,s2"))
    assert [s["sessionId"] for page in pages for s in page["sessions"]] == [SESSION, "session-2"]
    first, second = fake.requests
    assert first.method == "GET"
    assert first.url.startswith(f"{ENDPOINT}{BASE_PATH}?")
    assert "createdBy=u1" in first.url
    assert "ownedBy=u2" in first.url
    assert "sessionIds=s1%2Cs2" in first.url
    assert "nextToken" not in first.url
    assert "nextToken=page-2" in second.url


# --------------------------------------------------------------------------- errors and retries


def test_throttling_response_parses_to_client_error(client, fake: FakeNimble) -> None:
    fake.error("ThrottlingException", 429, message="slow down", code="RATE", context={"k": "v"})
    with pytest.raises(ClientError) as info:
        client.get_streaming_session(studioId=STUDIO, sessionId=SESSION)
    err = info.value
    assert isinstance(err, client.exceptions.ThrottlingException)
    assert err.response["Error"]["Code"] == "ThrottlingException"
    assert err.response["Error"]["Message"] == "slow down"
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert err.response["context"] == {"k": "v"}
    assert err.operation_name == "GetStreamingSession"
    assert len(fake.requests) == 1


@pytest.mark.parametrize(("code", "status"), sorted(ERRORS.items()))
def test_every_modeled_error_maps_to_its_exception(client, fake: FakeNimble, code: str, status: int) -> None:
    fake.error(code, status, message=f"{code} happened")
    with pytest.raises(getattr(client.exceptions, code)) as info:
        client.create_streaming_session(studioId=STUDIO, launchProfileId="lp-1")
    assert info.value.response["Error"]["Code"] == code
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert len(fake.requests) == 1


def test_error_type_header_with_namespace_suffix_still_parses(client, fake: FakeNimble) -> None:
    fake.reply(404, {"message": "gone"}, {"x-amzn-ErrorType": "ResourceNotFoundException:http://internal/"})
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_streaming_session(studioId=STUDIO, sessionId=SESSION)


def test_max_attempts_one_means_a_single_http_attempt_on_500(client, fake: FakeNimble) -> None:
    fake.default = (500, {"x-amzn-ErrorType": "InternalServerErrorException"}, {"message": "boom"})
    with pytest.raises(client.exceptions.InternalServerErrorException) as info:
        client.create_streaming_session(studioId=STUDIO, launchProfileId="lp-1", clientToken="tok")
    assert len(fake.requests) == 1
    assert info.value.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_max_attempts_is_the_total_attempt_budget() -> None:
    client = nimble_client(endpoint_url=ENDPOINT, region_name=REGION, max_attempts=3)
    fake = attach(client)
    fake.default = (500, {"x-amzn-ErrorType": "InternalServerErrorException"}, {"message": "boom"})
    with pytest.raises(client.exceptions.InternalServerErrorException):
        client.create_streaming_session(studioId=STUDIO, launchProfileId="lp-1", clientToken="tok")
    assert len(fake.requests) == 3
    # Every attempt of one call carries the same idempotency token.
    assert {header(r, "X-Amz-Client-Token") for r in fake.requests} == {"tok"}


# --------------------------------------------------------------------------- endpoints


def test_aws_endpoint_url_nimble_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_NIMBLE", ENDPOINT)
    client = nimble_client(region_name=REGION)
    assert client.meta.endpoint_url == ENDPOINT
    fake = attach(client)
    fake.reply(body=session_body())
    client.get_streaming_session(studioId=STUDIO, sessionId=SESSION)
    assert fake.last.url == f"{ENDPOINT}{BASE_PATH}/{SESSION}"


def test_explicit_endpoint_url_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_NIMBLE", "http://127.0.0.1:1")
    assert nimble_client(endpoint_url=ENDPOINT, region_name=REGION).meta.endpoint_url == ENDPOINT


def test_default_endpoint_without_configuration() -> None:
    client = nimble_client(region_name=REGION)
    assert client.meta.endpoint_url == "https://nimble.us-east-1.amazonaws.com"


# --------------------------------------------------------------------------- waiters


@pytest.mark.parametrize(
    ("waiter", "delay", "success", "failures"),
    [
        ("streaming_session_ready", 10, "READY", {"CREATE_FAILED", "START_FAILED"}),
        ("streaming_session_deleted", 5, "DELETED", {"DELETE_FAILED"}),
        ("streaming_session_stopped", 5, "STOPPED", {"STOP_FAILED"}),
    ],
)
def test_waiter_definitions(client, waiter: str, delay: int, success: str, failures: set[str]) -> None:
    config = client.get_waiter(waiter).config
    assert config.operation == "GetStreamingSession"
    assert (config.delay, config.max_attempts) == (delay, 180)
    by_state: dict[str, set[str]] = {}
    for acceptor in config.acceptors:
        assert (acceptor.matcher, acceptor.argument) == ("path", "session.state")
        by_state.setdefault(acceptor.state, set()).add(acceptor.expected)
    assert by_state == {"success": {success}, "failure": failures}


def test_ready_waiter_polls_until_ready(client, fake: FakeNimble) -> None:
    fake.reply(body=session_body(state="CREATE_IN_PROGRESS"))
    fake.reply(body=session_body(state="CREATE_IN_PROGRESS"))
    fake.reply(body=session_body(state="READY"))
    client.get_waiter("streaming_session_ready").wait(
        studioId=STUDIO, sessionId=SESSION, WaiterConfig={"Delay": 0, "MaxAttempts": 5}
    )
    assert len(fake.requests) == 3
    assert all(r.method == "GET" for r in fake.requests)


def test_ready_waiter_stops_on_create_failed(client, fake: FakeNimble) -> None:
    fake.reply(body=session_body(state="CREATE_FAILED", statusCode="INSUFFICIENT_CAPACITY"))
    with pytest.raises(WaiterError) as info:
        client.get_waiter("streaming_session_ready").wait(
            studioId=STUDIO, sessionId=SESSION, WaiterConfig={"Delay": 0, "MaxAttempts": 5}
        )
    assert info.value.last_response["session"]["statusCode"] == "INSUFFICIENT_CAPACITY"
    assert len(fake.requests) == 1
