"""Fixtures for the Nimble Studio emulator tests: fake clocks, a backend, a served emulator,
the project's boto3 client pointed at it, and a raw HTTP helper for what boto3 won't send."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from local.emulator import EmulatorConfig, NimbleBackend, RunningEmulator, start_emulator

STUDIO = "studio-local"
LAUNCH_PROFILE = "lp-local"
REGION = "us-east-1"
ACCESS_KEY_ID = "AKIDEMULATORTEST"
# A syntactically valid SigV4 header; the emulator reads the credential, not the signature.
SIGV4_HEADER = (
    f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/20261127/{REGION}/nimble/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)
SESSIONS_PATH = f"/2020-08-01/studios/{STUDIO}/streaming-sessions"


class FakeClock:
    """Epoch seconds that move only when told to."""

    def __init__(self, start: float = 1_795_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(fake_clock: FakeClock) -> NimbleBackend:
    """A backend with the default fixture, 3 s provisioning, 1 s deletion, a fake clock."""
    return NimbleBackend(
        EmulatorConfig(provisioning_seconds=3.0, deletion_seconds=1.0, seed=7), clock=fake_clock
    )


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    """The emulator served on a free port of 127.0.0.1 with short (real-time) transitions."""
    with start_emulator(
        port=0, config=EmulatorConfig(provisioning_seconds=0.5, deletion_seconds=0.5, seed=7)
    ) as emu:
        yield emu


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and no shared config, so the client can only reach the emulator."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulator-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_NIMBLE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def boto3_session() -> Any:
    """One boto3 session for the run: loading botocore's data files costs ~50 ms a client."""
    import boto3

    return boto3.Session(
        aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key="emulator-secret", region_name=REGION
    )


@pytest.fixture
def client(emulator: RunningEmulator, aws_env: None, boto3_session: Any) -> Any:
    """The project's Nimble client (one attempt, no SDK retries) pointed at the emulator."""
    from session_provisioning.nimble.client import nimble_client

    return nimble_client(endpoint_url=emulator.url, region_name=REGION, boto3_session=boto3_session)


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
