"""What tests of and against the Nimble Studio emulator share: the fixture's names, fake
credentials, a fake clock, and a raw HTTP helper for what boto3 won't send."""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from local.emulator import RunningEmulator

STUDIO = "studio-local"
LAUNCH_PROFILE = "lp-local"
REGION = "us-east-1"
ACCESS_KEY_ID = "AKIDEMULATORTEST"
SECRET_ACCESS_KEY = "emulator-secret"
# A syntactically valid SigV4 header; the emulator reads the credential, not the signature.
SIGV4_HEADER = (
    f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/20261127/{REGION}/nimble/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)
SESSIONS_PATH = f"/2020-08-01/studios/{STUDIO}/streaming-sessions"
#: The seven modeled errors and their HTTP statuses, as the service model has them.
SEVEN = {
    "ValidationException": 400,
    "ServiceQuotaExceededException": 402,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ConflictException": 409,
    "ThrottlingException": 429,
    "InternalServerErrorException": 500,
}
VALID_BODY = {"launchProfileId": LAUNCH_PROFILE}


class FakeClock:
    """Epoch seconds that move only when told to."""

    def __init__(self, start: float = 1_795_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class RawReply:
    status: int
    headers: Mapping[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)

    @property
    def code(self) -> str | None:
        return self.json.get("code")


def raw_request(
    emu: RunningEmulator,
    method: str,
    path: str,
    body: bytes | str | Mapping[str, Any] | list[Any] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    signed: bool = True,
) -> RawReply:
    """One request on a fresh connection, exactly as given (no SDK validation in the way)."""
    all_headers = {"Content-Type": "application/json"}
    if signed:
        all_headers["Authorization"] = SIGV4_HEADER
    all_headers.update(headers or {})
    if isinstance(body, Mapping | list):
        payload: bytes | None = json.dumps(body).encode()
    elif isinstance(body, str):
        payload = body.encode()
    else:
        payload = body
    connection = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    try:
        connection.request(method, path, body=payload, headers=all_headers)
        response = connection.getresponse()
        return RawReply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def assert_error(reply: Any, status: int, code: str, *fields: str) -> None:
    assert reply.status == status, reply.raw
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["x-amzn-errortype"] == code
    body = reply.json
    assert body["code"] == code
    assert body["message"]
    for field in fields:
        assert field in body["message"]
        assert field in body["context"]["fields"].split(",")


def assert_still_serving(emu: RunningEmulator) -> None:
    reply = raw_request(emu, "POST", SESSIONS_PATH, VALID_BODY)
    assert reply.status == 200, reply.raw
    assert reply.json["session"]["state"] == "CREATE_IN_PROGRESS"
