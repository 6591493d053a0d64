"""The /_emulator/ control endpoint over HTTP: faults, quota, config, reset, forced states."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.emulator import RunningEmulator
from tests.support.emulator import (
    SESSIONS_PATH,
    STUDIO,
    VALID_BODY,
    assert_error,
    assert_still_serving,
    raw_request,
)


def control(emu: RunningEmulator, method: str, path: str, body: Any = None) -> Any:
    return raw_request(emu, method, f"/_emulator{path}", body, signed=False)


def test_health_and_index(emulator: RunningEmulator) -> None:
    assert control(emulator, "GET", "/health").json == {"status": "ok"}
    endpoints = control(emulator, "GET", "/").json["endpoints"]
    assert "POST /_emulator/faults" in endpoints
    assert control(emulator, "GET", "").status == 200


def test_fault_by_count_over_the_control_endpoint(emulator: RunningEmulator) -> None:
    reply = control(
        emulator,
        "POST",
        "/faults",
        {"operation": "CreateStreamingSession", "error": "ThrottlingException", "count": 2},
    )
    fault = reply.json["fault"]
    assert (fault["id"], fault["remaining"], fault["fired"]) == ("fault-1", 2, 0)

    for _ in range(2):
        assert_error(raw_request(emulator, "POST", SESSIONS_PATH, VALID_BODY), 429, "ThrottlingException")
    assert control(emulator, "GET", "/faults").json == {"faults": []}
    assert_still_serving(emulator)
    state = control(emulator, "GET", "/state").json
    assert state["callCounts"] == {"CreateStreamingSession": 3}
    assert len(state["sessions"]) == 1


def test_faults_can_be_listed_removed_and_cleared(emulator: RunningEmulator) -> None:
    added = control(
        emulator, "POST", "/faults", [{"error": "ThrottlingException"}, {"sessionOutcome": "NEVER_READY"}]
    )
    ids = [fault["id"] for fault in added.json["faults"]]
    assert len(control(emulator, "GET", "/faults").json["faults"]) == 2
    assert control(emulator, "DELETE", f"/faults/{ids[0]}").json == {"removed": ids[0]}
    assert_error(control(emulator, "DELETE", f"/faults/{ids[0]}"), 404, "ResourceNotFoundException")
    assert [f["sessionOutcome"] for f in control(emulator, "GET", "/faults").json["faults"]] == [
        "NEVER_READY"
    ]
    assert control(emulator, "DELETE", "/faults").json == {"faults": []}
    assert control(emulator, "GET", "/state").json["faults"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"error": "Nope"},
        {"operation": "*"},
        {"error": "ThrottlingException", "probability": 2},
        "ThrottlingException",
        [{"error": "ThrottlingException"}, {"error": "Nope"}],
    ],
)
def test_invalid_fault_rules_are_400(emulator: RunningEmulator, body: Any) -> None:
    assert_error(control(emulator, "POST", "/faults", json.dumps(body)), 400, "ValidationException")
    assert control(emulator, "GET", "/faults").json == {"faults": []}


def test_session_outcomes_over_the_control_endpoint(emulator: RunningEmulator, fake_clock: Any) -> None:
    emulator.backend.clock = fake_clock
    control(
        emulator,
        "POST",
        "/faults",
        {
            "sessionOutcome": "CREATE_FAILED",
            "statusCode": "NETWORK_INTERFACE_ERROR",
            "match": {"ownedBy": "x"},
        },
    )
    failing = raw_request(emulator, "POST", SESSIONS_PATH, {**VALID_BODY, "ownedBy": "x"}).json["session"]
    fine = raw_request(emulator, "POST", SESSIONS_PATH, {**VALID_BODY, "ownedBy": "y"}).json["session"]
    fake_clock.advance(1)
    states = {
        s["sessionId"]: (s["state"], s["statusCode"])
        for s in control(emulator, "GET", "/state").json["sessions"]
    }
    assert states == {
        failing["sessionId"]: ("CREATE_FAILED", "NETWORK_INTERFACE_ERROR"),
        fine["sessionId"]: ("READY", "STREAMING_SESSION_READY"),
    }


def test_quota_over_the_control_endpoint(emulator: RunningEmulator) -> None:
    assert control(emulator, "POST", "/quota", {"liveSessionsPerOwner": 1}).json == {
        "quota": {"liveSessionsPerOwner": 1}
    }
    assert raw_request(emulator, "POST", SESSIONS_PATH, VALID_BODY).status == 200
    assert_error(
        raw_request(emulator, "POST", SESSIONS_PATH, VALID_BODY), 402, "ServiceQuotaExceededException"
    )
    assert control(emulator, "POST", "/quota", {"liveSessionsPerOwner": None}).status == 200
    assert raw_request(emulator, "POST", SESSIONS_PATH, VALID_BODY).status == 200
    assert_error(control(emulator, "POST", "/quota", {}), 400, "ValidationException", "liveSessionsPerOwner")
    assert_error(
        control(emulator, "POST", "/quota", {"liveSessionsPerOwner": -1}), 400, "ValidationException"
    )
    assert_error(control(emulator, "POST", "/quota", {"limit": 1}), 400, "ValidationException", "limit")


def test_config_over_the_control_endpoint(emulator: RunningEmulator) -> None:
    config = control(
        emulator, "POST", "/config", {"provisioningSeconds": [1, 2], "deletionSeconds": 0.25}
    ).json["config"]
    assert (config["provisioningSeconds"], config["deletionSeconds"]) == ([1.0, 2.0], 0.25)
    assert control(emulator, "GET", "/config").json["config"] == config
    reply = control(emulator, "POST", "/config", {"provisioningSeconds": "soon"})
    assert_error(reply, 400, "ValidationException")
    assert "config.provisioningSeconds" in reply.json["message"]
    assert_error(
        control(emulator, "POST", "/config", {"speed": 2}), 400, "ValidationException", "config.speed"
    )


def test_reset_over_the_control_endpoint(emulator: RunningEmulator) -> None:
    raw_request(emulator, "POST", SESSIONS_PATH, VALID_BODY, headers={"X-Amz-Client-Token": "tok"})
    control(emulator, "POST", "/faults", {"error": "ThrottlingException", "operation": "GetStreamingSession"})
    control(emulator, "POST", "/quota", {"liveSessionsPerOwner": 3})
    assert control(emulator, "POST", "/reset").json == {"reset": True}
    state = control(emulator, "GET", "/state").json
    assert (state["sessions"], state["tokens"], state["callCounts"], state["faults"]) == ([], {}, {}, [])
    assert state["quota"] == {"liveSessionsPerOwner": None}
    assert state["config"]["studios"][0]["studioId"] == STUDIO


def test_someone_else_deletes_a_session(emulator: RunningEmulator) -> None:
    session_id = raw_request(emulator, "POST", SESSIONS_PATH, VALID_BODY).json["session"]["sessionId"]
    deleted = control(emulator, "POST", f"/sessions/{session_id}/delete").json["session"]
    assert deleted["state"] == "DELETED"
    got = raw_request(emulator, "GET", f"{SESSIONS_PATH}/{session_id}").json["session"]
    assert (got["state"], got["statusCode"]) == ("DELETED", "STREAMING_SESSION_DELETED")
    assert_error(control(emulator, "POST", "/sessions/session-nope/delete"), 404, "ResourceNotFoundException")


def test_forcing_a_session_state(emulator: RunningEmulator) -> None:
    session_id = raw_request(emulator, "POST", SESSIONS_PATH, VALID_BODY).json["session"]["sessionId"]
    forced = control(
        emulator,
        "POST",
        f"/sessions/{session_id}/state",
        {"state": "START_FAILED", "statusCode": "INTERNAL_ERROR"},
    )
    assert (forced.json["session"]["state"], forced.json["session"]["statusCode"]) == (
        "START_FAILED",
        "INTERNAL_ERROR",
    )
    assert_error(
        control(emulator, "POST", f"/sessions/{session_id}/state", {"state": "ASLEEP"}),
        400,
        "ValidationException",
        "state",
    )
    assert_error(
        control(emulator, "POST", f"/sessions/{session_id}/state", {"mood": "x"}),
        400,
        "ValidationException",
        "mood",
    )


def test_control_errors_keep_the_wire_shape(emulator: RunningEmulator) -> None:
    assert_error(control(emulator, "GET", "/nothing-here"), 404, "UnknownOperationException")
    assert_error(control(emulator, "PUT", "/faults"), 405, "MethodNotAllowedException")
    assert_error(control(emulator, "POST", "/faults", b"{oops"), 400, "ValidationException")
    assert_error(control(emulator, "POST", "/config", b"[1]"), 400, "ValidationException")
