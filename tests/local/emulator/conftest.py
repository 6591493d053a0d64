"""Fixtures for the Nimble Studio emulator tests: a fake clock, a backend, a served emulator
and the project's boto3 client pointed at it. Shared names and helpers: tests.support.emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.emulator import EmulatorConfig, NimbleBackend, RunningEmulator, start_emulator
from tests.support.emulator import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, FakeClock


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
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
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
        aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY, region_name=REGION
    )


@pytest.fixture
def client(emulator: RunningEmulator, aws_env: None, boto3_session: Any) -> Any:
    """The project's Nimble client (one attempt, no SDK retries) pointed at the emulator."""
    from session_provisioning.nimble.client import nimble_client

    return nimble_client(endpoint_url=emulator.url, region_name=REGION, boto3_session=boto3_session)
