"""The wire layer with raw HTTP: what a broken or hostile client sends, and /_emulator/."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from local.emulator import RunningEmulator
from local.emulator.app import NimbleApp
from local.emulator.protocol import Request
from local.emulator.server import MAX_BODY_BYTES
from tests.support.emulator import (
    SESSIONS_PATH,
    SIGV4_HEADER,
    VALID_BODY,
    assert_error,
    assert_still_serving,
    raw_request,
)

# ----- success shape -----------------------------------------------------------------------


def test_success_is_json_with_a_request_id(emulator: RunningEmulator) -> None:
    reply = raw_request(emulator, "POST", SESSIONS_PATH, VALID_BODY, headers={"X-Amz-Client-Token": "tok"})
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["x-amzn-requestid"]
    session = reply.json["session"]
    assert session["createdAt"].endswith("Z")
    assert len(session["createdAt"]) == len("2026-11-27T10:00:00.123Z")
    assert None not in session.values()


def test_the_credential_of_the_signature_becomes_created_by(emulator: RunningEmulator) -> None:
    other = SIGV4_HEADER.replace("AKIDEMULATORTEST", "AKIDSOMEONE")
    reply = raw_request(emulator, "POST", SESSIONS_PATH, VALID_BODY, headers={"Authorization": other})
    assert reply.json["session"]["createdBy"] == reply.json["session"]["ownedBy"] == "AKIDSOMEONE"
    bare = raw_request(
        emulator, "POST", SESSIONS_PATH, VALID_BODY, headers={"Authorization": "AWS4-HMAC-SHA256"}
    )
    assert bare.json["session"]["createdBy"] == "local-user"


# ----- authentication ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer abc", "AWS AKID:signature", "aws4-hmac-sha256 Credential=x/y"],
)
def test_unsigned_requests_are_access_denied(emulator: RunningEmulator, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    reply = raw_request(
        emulator, "POST", SESSIONS_PATH, VALID_BODY, headers=headers, signed=authorization is not None
    )
    assert_error(reply, 403, "AccessDeniedException")
    assert emulator.backend.snapshot()["sessions"] == []
    assert emulator.backend.call_counts == {}


def test_every_operation_needs_a_signature(emulator: RunningEmulator) -> None:
    for method, path in [
        ("GET", SESSIONS_PATH),
        ("GET", f"{SESSIONS_PATH}/session-x"),
        ("DELETE", f"{SESSIONS_PATH}/session-x"),
        ("POST", f"{SESSIONS_PATH}/session-x/start"),
        ("POST", f"{SESSIONS_PATH}/session-x/stop"),
    ]:
        assert_error(raw_request(emulator, method, path, signed=False), 403, "AccessDeniedException")


# ----- malformed requests: 4xx, never 5xx, and the server keeps serving ---------------------------


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{", "not valid JSON"),
        (b'{"launchProfileId": "lp-local",}', "not valid JSON"),
        (b"\xef\xbb\xbf{}", "not valid JSON"),  # a UTF-8 byte order mark
        (b'{"launchProfileId": "\xff\xfe"}', "not valid UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),  # nesting deep enough to recurse
        (b"[]", "not an array"),
        (b'"text"', "not a string"),
        (b"null", "not null"),
        (b"42", "not a number"),
        (b"true", "not a boolean"),
    ],
)
def test_malformed_bodies_are_validation_errors(
    emulator: RunningEmulator, body: bytes, fragment: str
) -> None:
    reply = raw_request(emulator, "POST", SESSIONS_PATH, body)
    assert_error(reply, 400, "ValidationException")
    assert fragment in reply.json["message"]
    assert_still_serving(emulator)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["launchProfileId"]),
        ({"launchProfileId": None}, ["launchProfileId"]),
        ({"launchProfileId": 12}, ["launchProfileId"]),
        ({"launchProfileId": ["lp-local"]}, ["launchProfileId"]),
        ({**VALID_BODY, "ec2InstanceType": 4}, ["ec2InstanceType"]),
        ({**VALID_BODY, "ec2InstanceType": "g4dn.huge"}, ["ec2InstanceType"]),
        ({**VALID_BODY, "ownedBy": {"id": "x"}}, ["ownedBy"]),
        ({**VALID_BODY, "ownedBy": True}, ["ownedBy"]),
        ({**VALID_BODY, "streamingImageId": 1}, ["streamingImageId"]),
        ({**VALID_BODY, "streamingImageId": "x" * 23}, ["streamingImageId"]),
        ({**VALID_BODY, "streamingImageId": "bad id"}, ["streamingImageId"]),
        ({**VALID_BODY, "tags": "team=a"}, ["tags"]),
        ({**VALID_BODY, "tags": {"team": 1, "cost": None}}, ["tags.team", "tags.cost"]),
        ({**VALID_BODY, "clientToken": "in-the-body"}, ["clientToken"]),
        ({**VALID_BODY, "colour": "red", "size": 3}, ["colour", "size"]),
        (
            {"ec2InstanceType": "nope", "streamingImageId": "??"},
            ["launchProfileId", "ec2InstanceType", "streamingImageId"],
        ),
    ],
)
def test_wrong_types_bad_values_and_unknown_members_name_the_fields(
    emulator: RunningEmulator, body: dict, fields: list[str]
) -> None:
    reply = raw_request(emulator, "POST", SESSIONS_PATH, body)
    assert_error(reply, 400, "ValidationException", *fields)
    assert emulator.backend.snapshot()["sessions"] == []


@pytest.mark.parametrize("token", ["", "t" * 65])
def test_client_token_out_of_bounds(emulator: RunningEmulator, token: str) -> None:
    reply = raw_request(emulator, "POST", SESSIONS_PATH, VALID_BODY, headers={"X-Amz-Client-Token": token})
    assert_error(reply, 400, "ValidationException", "clientToken")


@pytest.mark.parametrize("token", ["t", "t" * 64])
def test_client_token_at_the_bounds(emulator: RunningEmulator, token: str) -> None:
    reply = raw_request(emulator, "POST", SESSIONS_PATH, VALID_BODY, headers={"X-Amz-Client-Token": token})
    assert reply.status == 200
    assert emulator.backend.snapshot()["sessions"][0]["clientToken"] == token


def test_start_and_stop_bodies_are_validated(emulator: RunningEmulator) -> None:
    session_id = raw_request(emulator, "POST", SESSIONS_PATH, VALID_BODY).json["session"]["sessionId"]
    stop = f"{SESSIONS_PATH}/{session_id}/stop"
    assert_error(
        raw_request(emulator, "POST", stop, {"volumeRetentionMode": 1}),
        400,
        "ValidationException",
        "volumeRetentionMode",
    )
    assert_error(raw_request(emulator, "POST", stop, {"force": True}), 400, "ValidationException", "force")
    start = f"{SESSIONS_PATH}/{session_id}/start"
    assert_error(
        raw_request(emulator, "POST", start, {"backupId": 5}), 400, "ValidationException", "backupId"
    )
    # An empty body is an empty request (no members given): valid.
    assert raw_request(emulator, "POST", stop, b"").status == 409  # still creating: a conflict, not a 400


def test_a_huge_body_is_413_and_the_connection_stays_usable(emulator: RunningEmulator) -> None:
    huge = json.dumps({"launchProfileId": "x" * (MAX_BODY_BYTES + 10)}).encode()
    reply = raw_request(emulator, "POST", SESSIONS_PATH, huge)
    assert_error(reply, 413, "RequestEntityTooLargeException")
    assert_still_serving(emulator)


def test_a_body_of_exactly_the_limit_is_read(emulator: RunningEmulator) -> None:
    prefix, suffix = b'{"launchProfileId": "lp-local", "ownedBy": "', b'"}'
    body = prefix + b"o" * (MAX_BODY_BYTES - len(prefix) - len(suffix)) + suffix
    assert len(body) == MAX_BODY_BYTES
    assert raw_request(emulator, "POST", SESSIONS_PATH, body).status == 200


def send_raw_bytes(emu: RunningEmulator, data: bytes) -> tuple[int, dict]:
    """Write bytes straight to a socket; parse the status line and JSON body of the reply."""
    with socket.create_connection(("127.0.0.1", emu.port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)  # the client is done: a short body ends here
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_protocol_errors_are_json_client_errors(emulator: RunningEmulator) -> None:
    status, body = send_raw_bytes(emulator, b"NONSENSE\r\n\r\n")
    assert status == 400
    assert body["code"] == "ValidationException"
    status, body = send_raw_bytes(emulator, b"GET / HTTP/2.0\r\n\r\n")
    assert status == 400  # the stock server says 505; a client's mistake is never a 5xx
    status, body = send_raw_bytes(
        emulator, f"POST {SESSIONS_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n".encode()
    )
    assert (status, body["code"]) == (400, "ValidationException")
    status, body = send_raw_bytes(
        emulator,
        f"POST {SESSIONS_PATH} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".encode(),
    )
    assert (status, body["code"]) == (400, "ValidationException")
    status, body = send_raw_bytes(
        emulator,
        f"POST {SESSIONS_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n{{}}".encode(),
    )
    assert status == 400
    assert "ended before" in body["message"]
    assert_still_serving(emulator)


# ----- routing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/2020-08-01/studios",
        "/2019-01-01/studios/studio-local/streaming-sessions",
        f"{SESSIONS_PATH}/session-x/reboot",
        f"{SESSIONS_PATH}/",
    ],
)
def test_unknown_routes_are_404_json(emulator: RunningEmulator, path: str) -> None:
    assert_error(raw_request(emulator, "GET", path), 404, "UnknownOperationException")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", SESSIONS_PATH, "GET, POST"),
        ("DELETE", SESSIONS_PATH, "GET, POST"),
        ("POST", f"{SESSIONS_PATH}/session-x", "DELETE, GET"),
        ("GET", f"{SESSIONS_PATH}/session-x/start", "POST"),
        ("PATCH", f"{SESSIONS_PATH}/session-x/stop", "POST"),
        ("BREW", SESSIONS_PATH, "GET, POST"),
    ],
)
def test_wrong_methods_are_405_json_with_allow(
    emulator: RunningEmulator, method: str, path: str, allow: str
) -> None:
    reply = raw_request(emulator, method, path)
    assert_error(reply, 405, "MethodNotAllowedException")
    assert reply.headers["allow"] == allow


def test_head_gets_headers_without_a_body(emulator: RunningEmulator) -> None:
    reply = raw_request(emulator, "HEAD", SESSIONS_PATH)
    assert reply.status == 405
    assert reply.raw == b""


def test_percent_encoded_path_parameters_are_decoded(emulator: RunningEmulator) -> None:
    reply = raw_request(emulator, "GET", "/2020-08-01/studios/studio%2Dlocal/streaming-sessions")
    assert reply.status == 200
    reply = raw_request(emulator, "GET", "/2020-08-01/studios/studio%20x/streaming-sessions")
    assert_error(reply, 404, "ResourceNotFoundException")
    assert reply.json["context"]["resourceId"] == "studio x"


def test_list_query_parameters(emulator: RunningEmulator) -> None:
    for owner in ("a", "b", "a"):
        raw_request(emulator, "POST", SESSIONS_PATH, {**VALID_BODY, "ownedBy": owner})
    assert len(raw_request(emulator, "GET", f"{SESSIONS_PATH}?ownedBy=a").json["sessions"]) == 2
    assert raw_request(emulator, "GET", f"{SESSIONS_PATH}?ownedBy=").json["sessions"] == []
    assert len(raw_request(emulator, "GET", f"{SESSIONS_PATH}?unknown=1").json["sessions"]) == 3
    assert "nextToken" not in raw_request(emulator, "GET", SESSIONS_PATH).json
    assert_error(
        raw_request(emulator, "GET", f"{SESSIONS_PATH}?nextToken=zzz"),
        400,
        "ValidationException",
        "nextToken",
    )


def test_a_bug_in_the_emulator_is_a_500_that_says_so(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("oops")

    monkeypatch.setattr(emulator.backend, "get_streaming_session", broken)
    reply = raw_request(emulator, "GET", f"{SESSIONS_PATH}/session-x")
    assert_error(reply, 500, "InternalServerErrorException")
    assert "Emulator bug" in reply.json["message"]
    assert_still_serving(emulator)


def test_the_app_works_without_a_server(backend: Any) -> None:
    app = NimbleApp(backend)
    reply = app.handle(
        Request("POST", SESSIONS_PATH, {"authorization": SIGV4_HEADER}, json.dumps(VALID_BODY).encode())
    )
    assert (reply.status, reply.operation) == (200, "CreateStreamingSession")
    reply = app.handle(Request("GET", f"{SESSIONS_PATH}/session-x", {}))
    assert (reply.status, reply.headers["x-amzn-ErrorType"]) == (403, "AccessDeniedException")
