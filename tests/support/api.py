"""Helpers of the API suite: proxy events as API Gateway builds them, replies, the request body.

The fixtures (emulator, engine, api, token) are in tests/api/conftest.py.

The HTTP API through API Gateway proxy events, against the real workflow.

`engine` runs the real state machine definition in moto with the real handlers in worker processes,
calling the Nimble Studio emulator (sessions READY after 1 s; polling without an initial wait,
every second). `api` sends proxy events, built like the local API Gateway builds them, to
`ApiFunction` through the engine. Each test uses its own client token, so tests share one
engine per module and never see each other's requests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

from local.api_gateway import build_event, routes_from_template
from local.emulator import RunningEmulator
from local.engine import LocalEngine

STUDIO = "studio-local"
LAUNCH_PROFILE = "lp-local"
IMAGE = "image-local"
CREATE_PATH = f"/studios/{STUDIO}/streaming-sessions"
ROUTES = routes_from_template()


def gateway_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    raw_body: bytes | str | None = None,
) -> dict[str, Any]:
    """The REST proxy event API Gateway sends for this request.

    `body` is sent as JSON (with Content-Type: application/json unless `headers` name one);
    `raw_body` is sent as it is. The resource is the template's route for the path whatever the
    method, so a wrong method reaches the handler as it would with an ANY route.
    """
    resource, parameters = path, None
    for route in ROUTES:
        match = route.pattern.match(path)
        if match:
            resource, parameters = route.resource, match.groupdict()
            break
    pairs = list((headers or {}).items())
    if body is not None:
        raw_body = json.dumps(body)
        if not any(name.lower() == "content-type" for name, _ in pairs):
            pairs.append(("Content-Type", "application/json"))
    return build_event(
        method=method,
        path=path,
        resource=resource,
        path_parameters=parameters,
        headers=pairs,
        body=raw_body,
    )


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any = field(repr=True)

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)


def as_reply(response: Mapping[str, Any]) -> Reply:
    """A proxy response, checked for what API Gateway needs, with its JSON body parsed."""
    assert isinstance(response["statusCode"], int)
    headers = {key: values[-1] for key, values in (response.get("multiValueHeaders") or {}).items()}
    headers.update(response.get("headers") or {})
    assert not response.get("isBase64Encoded")
    body = json.loads(response["body"])
    return Reply(response["statusCode"], headers, body)


def valid_body(**members: Any) -> dict[str, Any]:
    body = {"launchProfileId": LAUNCH_PROFILE, "streamingImageId": IMAGE, "ec2InstanceType": "g4dn.xlarge"}
    body.update(members)
    return {key: value for key, value in body.items() if value is not None}


class Api:
    """The API as a client sees it, through proxy events into ApiFunction."""

    def __init__(self, engine: LocalEngine) -> None:
        self.engine = engine
        self.sfn = boto3.client("stepfunctions", region_name="us-east-1")

    def call(self, method: str, path: str, **kwargs: Any) -> Reply:
        return as_reply(self.engine.invoke("ApiFunction", gateway_event(method, path, **kwargs)))

    def create(
        self,
        body: Any = None,
        *,
        token: str | None = None,
        studio: str = STUDIO,
        headers: Mapping[str, str] | None = None,
        raw_body: bytes | str | None = None,
    ) -> Reply:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["X-Amz-Client-Token"] = token
        if body is None and raw_body is None:
            body = valid_body()
        return self.call(
            "POST", f"/studios/{studio}/streaming-sessions", body=body, headers=all_headers, raw_body=raw_body
        )

    def status(self, request_id: str, *, studio: str = STUDIO) -> Reply:
        return self.call("GET", f"/studios/{studio}/streaming-sessions/requests/{request_id}")

    def wait_until_done(self, request_id: str, *, studio: str = STUDIO, timeout: float = 20) -> list[Reply]:
        """GET the status until it is neither SCHEDULED nor IN_PROGRESS; every reply seen, in order."""
        replies = []
        deadline = time.monotonic() + timeout
        while True:
            reply = self.status(request_id, studio=studio)
            replies.append(reply)
            assert reply.status == 200, reply
            if reply.body["status"] not in ("SCHEDULED", "IN_PROGRESS"):
                return replies
            assert time.monotonic() < deadline, f"{request_id} still {reply.body['status']} after {timeout} s"
            time.sleep(0.1)

    def executions(self, name: str | None = None) -> list[dict[str, Any]]:
        """The state machine's executions (those named `name`)."""
        found = []
        paginator = self.sfn.get_paginator("list_executions")
        for page in paginator.paginate(stateMachineArn=self.engine.state_machine_arn):
            found.extend(page["executions"])
        return [item for item in found if name is None or item["name"] == name]


def session_of(emulator: RunningEmulator, token: str, timeout: float = 10) -> dict[str, Any]:
    """The emulator's session created with this client token (waits for CreateStreamingSession)."""
    deadline = time.monotonic() + timeout
    while True:
        sessions = [item for item in emulator.backend.snapshot()["sessions"] if item["clientToken"] == token]
        if sessions:
            return sessions[0]
        assert time.monotonic() < deadline, f"no session was created with token {token}"
        time.sleep(0.05)


class FakeContext:
    """Enough of a Lambda context for Powertools' Logger."""

    function_name = "ApiFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ApiFunction"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/ApiFunction"
    log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
