"""The Nimble Studio emulator under hostile input: never a 5xx for a client's mistake, and it keeps serving.

Hypothesis sends, over real HTTP on 127.0.0.1: random bytes and random JSON to every operation
and every control endpoint, bodies with the right member names and wrong types, random
tokens, ids and content types, whole requests of random bytes, and oversized bodies. Every
answer must be a client error or a success, and every error JSON ``{"message", "code"}`` with
``x-amzn-ErrorType`` naming the code (the wire format botocore parses). Afterwards the emulator
must still answer as usual. Deterministic: ``derandomize=True``, bounded examples.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.emulator import EmulatorConfig, start_emulator

SETTINGS = settings(
    derandomize=True,
    database=None,
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SIGV4 = (
    "AWS4-HMAC-SHA256 Credential=AKIDFUZZ/20261127/us-east-1/nimble/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)
API = "/2020-08-01/studios/{studio}/streaming-sessions"
OPERATIONS = [
    ("POST", API),
    ("GET", API),
    ("GET", API + "/{session}"),
    ("DELETE", API + "/{session}"),
    ("POST", API + "/{session}/start"),
    ("POST", API + "/{session}/stop"),
]
CONTROL = [
    ("POST", "/_emulator/faults"),
    ("POST", "/_emulator/config"),
    ("POST", "/_emulator/quota"),
    ("POST", "/_emulator/sessions/{session}/state"),
    ("POST", "/_emulator/sessions/{session}/delete"),
    ("DELETE", "/_emulator/faults/{session}"),
    ("POST", "/_emulator/reset"),
]
MEMBERS = [
    "launchProfileId", "ec2InstanceType", "ownedBy", "streamingImageId", "tags", "backupId",
    "volumeRetentionMode", "state", "statusCode", "statusMessage", "liveSessionsPerOwner",
    "provisioningSeconds", "deletionSeconds", "listPageSize", "seed", "studios", "faults", "error",
    "sessionOutcome", "operation", "probability", "count", "match", "region", "accountId",
]  # fmt: skip

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
#: Objects with the names the emulator knows and values of any type.
KNOWN_MEMBERS = st.dictionaries(st.sampled_from(MEMBERS), JSON, max_size=5)
BODIES = st.one_of(
    st.binary(max_size=300),
    JSON.map(lambda value: json.dumps(value).encode()),
    KNOWN_MEMBERS.map(lambda value: json.dumps(value).encode()),
    st.sampled_from(
        [b"", b"{", b"[]", b"null", b"\xff\xfe", b"[" * 5000, b'{"a":NaN}']
        + [f'{{"{name}": {value}}}'.encode() for name in MEMBERS[:16] for value in ("NaN", "1e999", "-1e999")]
    ),
)
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
SEGMENT = st.one_of(st.sampled_from(["studio-local", "session-x", ""]), st.text(max_size=30)).map(
    lambda text: quote(text, safe="")
)


@pytest.fixture(scope="module")
def emulator():
    with start_emulator(port=0, config=EmulatorConfig(provisioning_seconds=0.2, deletion_seconds=0.2)) as emu:
        yield emu


@pytest.fixture(scope="module")
def settings_body(emulator) -> dict[str, Any]:
    """The emulator's settings, to put back after a test changed them."""
    status, _, body = send(emulator, "GET", "/_emulator/config")
    assert status == 200
    return json.loads(body)["config"]


def send(
    emulator, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def expect_a_proper_answer(status: int, headers: dict[str, str], body: bytes, what: str) -> None:
    assert status < 500, (what, status, body[:300])
    if status >= 400:
        answer = json.loads(body)
        assert isinstance(answer.get("code"), str), (what, answer)
        assert answer["code"]
        assert isinstance(answer.get("message"), str), (what, answer)
        assert answer["message"]
        assert headers.get("x-amzn-errortype") == answer["code"], (what, headers)


def session_lifecycle(emulator, token: str) -> list[tuple[str, tuple[int, dict[str, str], bytes]]]:
    """Create, get, list and delete a session: every path that reads the settings and the clock."""
    signed = {"Authorization": SIGV4, "Content-Type": "application/json", "X-Amz-Client-Token": token}
    sessions = API.format(studio="studio-local")
    created = send(emulator, "POST", sessions, json.dumps({"launchProfileId": "lp-local"}).encode(), signed)
    replies = [("create", created)]
    if created[0] == 200:
        session_id = json.loads(created[2])["session"]["sessionId"]
        time.sleep(0.01)
        replies.append(("get", send(emulator, "GET", f"{sessions}/{session_id}", None, signed)))
        replies.append(("list", send(emulator, "GET", sessions, None, signed)))
        replies.append(("delete", send(emulator, "DELETE", f"{sessions}/{session_id}", None, signed)))
    return replies


def expect_still_serving(emulator, token: str) -> None:
    assert send(emulator, "GET", "/_emulator/health")[0] == 200
    replies = session_lifecycle(emulator, token)
    assert [(what, reply[0]) for what, reply in replies] == [
        ("create", 200), ("get", 200), ("list", 200), ("delete", 200),
    ]  # fmt: skip


@SETTINGS
@given(
    operation=st.sampled_from(OPERATIONS),
    studio=st.one_of(st.just("studio-local"), SEGMENT),
    session=SEGMENT,
    body=BODIES,
    token=st.one_of(st.none(), HEADER_TEXT),
    content_type=st.one_of(st.just("application/json"), HEADER_TEXT),
    query=st.one_of(st.just(""), st.dictionaries(st.sampled_from(["nextToken", "ownedBy", "createdBy", "sessionIds"]), st.text(max_size=12), max_size=3).map(lambda q: "?" + "&".join(f"{k}={quote(v)}" for k, v in q.items()))),
)  # fmt: skip
def test_the_api_answers_any_request_with_a_client_error_or_a_success(
    emulator, operation, studio, session, body, token, content_type, query
):
    method, template = operation
    path = template.format(studio=studio or "s", session=session or "x") + query
    headers = {"Authorization": SIGV4, "Content-Type": content_type}
    if token is not None:
        headers["X-Amz-Client-Token"] = token
    expect_a_proper_answer(
        *send(emulator, method, path, body, headers), what=f"{method} {path} {body[:60]!r}"
    )


@SETTINGS
@given(operation=st.sampled_from(CONTROL), session=SEGMENT, body=BODIES)
def test_the_control_endpoint_answers_any_request_with_a_client_error_or_a_success(
    emulator, settings_body, operation, session, body
):
    method, template = operation
    path = template.format(session=session or "x")
    try:
        reply = send(emulator, method, path, body, {"Content-Type": "application/json"})
        expect_a_proper_answer(*reply, what=f"{method} {path} {body[:60]!r}")
        # Whatever it accepted, the API still works without a bug (faults cleared: they are 5xx on purpose).
        send(emulator, "DELETE", "/_emulator/faults")
        for what, answer in session_lifecycle(emulator, f"after-control-{session[:40]}"):
            expect_a_proper_answer(*answer, what=f"after {method} {path} {body[:60]!r}: {what}")
    finally:
        send(emulator, "POST", "/_emulator/reset", b"{}")
        assert send(emulator, "POST", "/_emulator/config", json.dumps(settings_body).encode())[0] == 200


@pytest.mark.parametrize("setting", ["provisioningSeconds", "deletionSeconds"])
@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999", "[0, 1e999]"])
def test_a_duration_that_is_not_a_finite_number_is_refused(emulator, settings_body, setting, value):
    """Accepted, NaN made every later read of a session a 500 (its timestamps could not be written)."""
    try:
        status, headers, body = send(
            emulator, "POST", "/_emulator/config", f'{{"{setting}": {value}}}'.encode()
        )
        assert status == 400, body
        expect_a_proper_answer(status, headers, body, what=value)
        expect_still_serving(emulator, token=f"finite-{setting}-{value}")
    finally:
        send(emulator, "POST", "/_emulator/reset", b"{}")
        send(emulator, "POST", "/_emulator/config", json.dumps(settings_body).encode())


def raw_exchange(emulator, payload: bytes) -> bytes:
    """Sends bytes as they are, says it is done, and reads whatever comes back until the server closes."""
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=10) as connection:
        with contextlib.suppress(OSError):  # the server may close first: also an answer
            connection.sendall(payload)
            connection.shutdown(socket.SHUT_WR)
        chunks = []
        with contextlib.suppress(OSError):
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


@SETTINGS
@given(
    st.one_of(
        st.binary(max_size=400),
        st.builds(
            lambda method, path, rest: method + b" " + path + b" HTTP/1.1\r\n" + rest,
            st.sampled_from([b"GET", b"POST", b"DELETE", b"BREW", b"", b"G\x00T"]),
            st.sampled_from(
                [b"/", b"/_emulator/health", API.format(studio="studio-local").encode(), b"*", b"\xff"]
            ),
            st.binary(max_size=200),
        ),
    )
)
def test_garbage_on_the_socket_gets_a_client_error_or_nothing(emulator, payload):
    answer = raw_exchange(emulator, payload + b"\r\n\r\n")
    for line in answer.split(b"\r\n"):
        if line.startswith(b"HTTP/1."):
            status = int(line.split()[1])
            assert status < 500, (payload[:100], answer[:300])


@pytest.mark.parametrize(
    ("announced", "sent"),
    [(2 * 1024 * 1024, 2 * 1024 * 1024), (64 * 1024 * 1024, 10)],
    ids=["2MiB-sent", "64MiB-announced"],
)
def test_a_huge_body_is_a_413_not_a_failure(emulator, announced, sent):
    head = (
        f"POST {API.format(studio='studio-local')} HTTP/1.1\r\nHost: x\r\nAuthorization: {SIGV4}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {announced}\r\n\r\n"
    ).encode()
    answer = raw_exchange(emulator, head + b"x" * sent)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"413", answer[:300]
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["code"] == "RequestEntityTooLargeException"


def test_after_all_that_it_still_serves(emulator):
    expect_still_serving(emulator, "still-serving")
