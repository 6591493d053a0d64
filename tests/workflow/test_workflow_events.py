"""Every event the real workflow emits validates against the registered schemas, and the sample
consumer parses the Ready event it really emits.

The template's state machine runs locally (moto's ASL engine, the real handlers, the Nimble
Studio emulator), as in tests/workflow: one happy path and the failure kinds of the spec,
side by side, each with its own client token and its faults aimed at it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from jsonschema import Draft4Validator

from local.emulator import EmulatorConfig, start_emulator
from local.engine import REPO_ROOT, LocalEngine
from tests.support.reliability import FAILED, READY
from tests.support.workflow import (
    ENVIRONMENT,
    PARAMETERS,
    PROVISIONING_SECONDS,
    STUDIO,
    events_for,
    execution_input,
)

SCHEMA_FILES = {READY: "streaming_session_ready.json", FAILED: "streaming_session_failed.json"}

#: scenario -> (faults for its token, expected detail-type, expected error code or None)
SCENARIOS: dict[str, tuple[list[dict[str, Any]], str, str | None]] = {
    "ready": ([], READY, None),
    "create-failed": (
        [{"sessionOutcome": "CREATE_FAILED", "statusCode": "INSUFFICIENT_CAPACITY"}],
        FAILED,
        "INSUFFICIENT_CAPACITY",
    ),
    "quota": (
        [{"operation": "CreateStreamingSession", "error": "ServiceQuotaExceededException", "count": 1}],
        FAILED,
        "ServiceQuotaExceededException",
    ),
    "never-ready": ([{"sessionOutcome": "NEVER_READY"}], FAILED, "SessionNotReadyInTime"),
    "invalid": ([], FAILED, "ValidationException"),
}


@pytest.fixture(scope="module")
def emulator():
    emu = start_emulator(port=0, config=EmulatorConfig(provisioning_seconds=PROVISIONING_SECONDS))
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def engine(emulator):
    with LocalEngine(
        parameter_overrides={**PARAMETERS, "NimbleEndpointUrl": emulator.url},
        environment=ENVIRONMENT,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict[str, Any]]:
    """The committed schemas by detail-type."""
    folder = REPO_ROOT / "schemas"
    return {
        kind: json.loads((folder / file).read_text(encoding="utf-8")) for kind, file in SCHEMA_FILES.items()
    }


@pytest.fixture(scope="module")
def emitted(engine, emulator) -> dict[str, list[dict[str, Any]]]:
    """Runs every scenario at once; the events each one emitted, by scenario."""
    suffix = uuid.uuid4().hex[:10]
    started = {}
    for scenario, (faults, _, _) in SCENARIOS.items():
        token = f"schema-{scenario}-{suffix}"
        emulator.backend.add_faults([{**fault, "match": {"clientToken": token}} for fault in faults])
        payload = execution_input(token, f"artist-{scenario}")
        if scenario == "invalid":
            payload = {
                "studioId": STUDIO,
                "clientToken": token,
                "request": {"launchProfileId": 7, "bogus": 1},
            }
        name = f"req-{scenario}-{suffix}"
        started[scenario] = (name, engine.start_execution(payload, name=name))
    for _, arn in started.values():
        engine.wait(arn, timeout=120)
    events = engine.events()
    return {scenario: events_for(events, name) for scenario, (name, _) in started.items()}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_emitted_event_validates_against_its_schema(emitted, schemas, scenario):
    _, detail_type, code = SCENARIOS[scenario]
    events = emitted[scenario]
    assert len(events) == 1, f"expected one terminal event, got {events}"
    event = events[0]
    assert event["detail-type"] == detail_type
    validator = Draft4Validator(schemas[detail_type], format_checker=Draft4Validator.FORMAT_CHECKER)
    assert [error.message for error in validator.iter_errors(event)] == []
    if code is not None:
        assert event["detail"]["error"]["code"] == code
    # Each event validates against its own schema only.
    other = schemas[FAILED if detail_type == READY else READY]
    assert not Draft4Validator(other).is_valid(event)


def test_sample_consumer_parses_the_emitted_ready_event(emitted, engine):
    event = emitted["ready"][0]
    notice = engine.invoke("SessionReadyConsumerFunction", event)
    assert notice["requestId"] == event["detail"]["requestId"]
    assert notice["sessionId"] == event["detail"]["sessionId"]
    assert notice["ownedBy"] == "artist-ready"
    assert notice["eventAgeSeconds"] >= 0
    assert "replayName" not in notice
