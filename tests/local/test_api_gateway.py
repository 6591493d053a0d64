"""local/api_gateway.py: HTTP in, the REST proxy event to the function, its answer out.

The end-to-end tests run the whole local system over HTTP with `requests`; the others give the
server a recording function, to see the exact event and check how answers are written back.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from local.api_gateway import MAX_PAYLOAD_BYTES, RunningApi, serve_api
from local.engine import LocalEngine
from tests.support.api import STUDIO, Api, valid_body

CREATE_RESOURCE = "/studios/{studioId}/streaming-sessions"
STATUS_RESOURCE = "/studios/{studioId}/streaming-sessions/requests/{requestId}"


# --- the whole system over HTTP -----------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(emulator) -> Iterator[LocalEngine]:
    overrides = {
        "NimbleEndpointUrl": emulator.url,
        "PollInitialWaitSeconds": 0,
        "PollIntervalSeconds": 1,
        "PollChecksPerInvocation": 1,
    }
    with LocalEngine(parameter_overrides=overrides) as running:
        yield running


@pytest.fixture(scope="module")
def api(engine: LocalEngine) -> Api:
    return Api(engine)


@pytest.fixture
def token() -> str:
    """A client token of this test's own."""
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def local_api(engine) -> Iterator[RunningApi]:
    with serve_api(lambda event: engine.invoke("ApiFunction", event)) as running:
        yield running


def test_post_then_get_until_ready(local_api, token):
    created = requests.post(
        f"{local_api.url}/studios/{STUDIO}/streaming-sessions",
        json=valid_body(),
        headers={"X-Amz-Client-Token": token},
        timeout=10,
    )
    assert created.status_code == 202
    assert created.headers["Content-Type"] == "application/json"
    request_id = created.json()["requestId"]
    location = created.headers["Location"]
    assert location == f"/studios/{STUDIO}/streaming-sessions/requests/{request_id}"

    deadline = time.monotonic() + 20
    seen = []
    while True:
        reply = requests.get(local_api.url + location, timeout=10)
        assert reply.status_code == 200
        seen.append(reply.json()["status"])
        if seen[-1] != "IN_PROGRESS":
            break
        assert time.monotonic() < deadline, "still IN_PROGRESS"
        time.sleep(0.1)
    assert seen[-1] == "READY"
    assert reply.json()["session"]["state"] == "READY"
    assert reply.json()["clientToken"] == token


def test_errors_come_back_as_the_function_wrote_them(local_api, token):
    reply = requests.post(
        f"{local_api.url}/studios/{STUDIO}/streaming-sessions",
        data=b'{"launchProfileId": "lp-\xff"}',
        headers={"Content-Type": "application/json", "X-Amz-Client-Token": token},
        timeout=10,
    )
    assert reply.status_code == 400
    assert reply.json() == {
        "code": "ValidationException",
        "message": "The request body is not UTF-8 text.",
        "fields": ["(body)"],
    }
    unknown = requests.get(
        f"{local_api.url}/studios/{STUDIO}/streaming-sessions/requests/req-nope", timeout=10
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "ResourceNotFoundException"


def test_concurrent_duplicates_over_http_start_one_workflow(local_api, api, token):
    barrier = threading.Barrier(20)

    def send(_: int) -> requests.Response:
        barrier.wait()
        return requests.post(
            f"{local_api.url}/studios/{STUDIO}/streaming-sessions",
            json=valid_body(),
            headers={"X-Amz-Client-Token": token},
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(send, range(20)))
    assert {reply.status_code for reply in replies} == {202}
    assert len({reply.json()["requestId"] for reply in replies}) == 1
    assert len(api.executions(replies[0].json()["requestId"])) == 1


# --- the adapter alone --------------------------------------------------------------------------


class Recorder:
    """A function that records its events and answers what the test says."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.response: Any = {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": "{}",
        }

    def __call__(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def gateway(recorder) -> Iterator[RunningApi]:
    with serve_api(recorder) as running:
        yield running


def test_event_has_the_rest_proxy_shape(gateway, recorder):
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    body = json.dumps({"launchProfileId": "lp-local"})
    connection.putrequest("POST", f"/studios/{STUDIO}/streaming-sessions?a=1&b=2&a=3&empty=")
    for name, value in [
        ("Content-Type", "application/json"),
        ("X-Amz-Client-Token", "token-1"),
        ("X-Multi", "one"),
        ("X-Multi", "two"),
        ("Content-Length", str(len(body))),
    ]:
        connection.putheader(name, value)
    connection.endheaders(body.encode())
    assert connection.getresponse().status == 200
    connection.close()

    [event] = recorder.events
    assert event["resource"] == CREATE_RESOURCE
    assert event["path"] == f"/studios/{STUDIO}/streaming-sessions"
    assert event["httpMethod"] == "POST"
    assert event["headers"]["X-Amz-Client-Token"] == "token-1"
    assert event["headers"]["X-Multi"] == "two"
    assert event["multiValueHeaders"]["X-Multi"] == ["one", "two"]
    assert event["queryStringParameters"] == {"a": "3", "b": "2", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "3"], "b": ["2"], "empty": [""]}
    assert event["pathParameters"] == {"studioId": STUDIO}
    assert event["body"] == body
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "v1"
    assert context["resourcePath"] == CREATE_RESOURCE
    assert context["httpMethod"] == "POST"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["path"] == event["path"]
    assert context["requestId"]


def test_path_parameters_are_decoded_and_absent_parts_are_null(gateway, recorder):
    requests.get(f"{gateway.url}/studios/studio%20one/streaming-sessions/requests/req-1", timeout=10)
    [event] = recorder.events
    assert event["resource"] == STATUS_RESOURCE
    assert event["pathParameters"] == {"studioId": "studio one", "requestId": "req-1"}
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["body"] is None


def test_binary_body_is_passed_base64_encoded(gateway, recorder):
    raw = b'{"launchProfileId": "\xff\xfe"}'
    requests.post(f"{gateway.url}/studios/{STUDIO}/streaming-sessions", data=raw, timeout=10)
    [event] = recorder.events
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_chunked_body_is_reassembled(gateway, recorder):
    chunks = (part for part in [b'{"launchProfileId":', b' "lp-local"}'])
    requests.post(f"{gateway.url}/studios/{STUDIO}/streaming-sessions", data=chunks, timeout=10)
    [event] = recorder.events
    assert event["body"] == '{"launchProfileId": "lp-local"}'


def test_response_is_written_back_with_merged_headers(gateway, recorder):
    recorder.response = {
        "statusCode": 202,
        "headers": {"Location": "/x", "X-Single": "s"},
        "multiValueHeaders": {"X-Multi": ["1", "2"], "Location": ["/from-multi"]},
        "body": json.dumps({"ok": True}),
        "isBase64Encoded": False,
    }
    reply = requests.post(f"{gateway.url}/studios/{STUDIO}/streaming-sessions", json={}, timeout=10)
    assert reply.status_code == 202
    assert reply.json() == {"ok": True}
    assert reply.headers["Location"] == "/from-multi"
    assert reply.headers["X-Single"] == "s"
    assert reply.headers["X-Multi"] == "1, 2"
    assert reply.headers["x-amzn-RequestId"] == recorder.events[0]["requestContext"]["requestId"]


def test_base64_response_body_is_decoded(gateway, recorder):
    recorder.response = {
        "statusCode": 200,
        "body": base64.b64encode(b"\x00\x01binary").decode(),
        "isBase64Encoded": True,
    }
    reply = requests.get(f"{gateway.url}/studios/{STUDIO}/streaming-sessions/requests/r", timeout=10)
    assert reply.content == b"\x00\x01binary"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/studios"),
        ("POST", f"/studios/{STUDIO}/streaming-sessions/"),
        ("GET", f"/studios/{STUDIO}/streaming-sessions/requests"),
    ],
)
def test_no_route_is_answered_like_api_gateway(gateway, recorder, method, path):
    reply = requests.request(method, gateway.url + path, timeout=10)
    assert reply.status_code == 403
    assert reply.json() == {"code": "MISSING_AUTHENTICATION_TOKEN", "message": "Missing Authentication Token"}
    assert reply.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert recorder.events == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/studios/{STUDIO}/streaming-sessions"),
        ("DELETE", f"/studios/{STUDIO}/streaming-sessions/requests/r"),
        ("OPTIONS", f"/studios/{STUDIO}/streaming-sessions"),
    ],
)
def test_other_methods_on_known_paths_reach_the_function(gateway, recorder, method, path):
    # The template's ANY events route them to the function, which answers 405 JSON.
    requests.request(method, gateway.url + path, timeout=10)
    assert [event["httpMethod"] for event in recorder.events] == [method]
    assert recorder.events[0]["resource"] in {
        "/studios/{studioId}/streaming-sessions",
        "/studios/{studioId}/streaming-sessions/requests/{requestId}",
    }


def test_head_without_route_has_no_body(gateway):
    reply = requests.head(f"{gateway.url}/nowhere", timeout=10)
    assert reply.status_code == 403
    assert reply.content == b""


@pytest.mark.parametrize(
    "response",
    [RuntimeError("boom"), "not a dict", {"statusCode": "teapot"}, {"body": "{}"}],
    ids=["raises", "not a dict", "bad status", "no status"],
)
def test_function_failure_is_502(gateway, recorder, response):
    recorder.response = response
    reply = requests.get(f"{gateway.url}/studios/{STUDIO}/streaming-sessions/requests/r", timeout=10)
    assert reply.status_code == 502
    assert reply.json() == {"code": "INTEGRATION_FAILURE", "message": "Internal server error"}


def test_payload_over_the_limit_is_413_without_calling_the_function(gateway, recorder):
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    connection.putrequest("POST", f"/studios/{STUDIO}/streaming-sessions")
    connection.putheader("Content-Length", str(MAX_PAYLOAD_BYTES + 1))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read()) == {"code": "REQUEST_TOO_LARGE", "message": "Request Too Long"}
    connection.close()
    assert recorder.events == []


def test_unreadable_content_length_is_400(gateway, recorder):
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    connection.putrequest("POST", f"/studios/{STUDIO}/streaming-sessions")
    connection.putheader("Content-Length", "lots")
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 400
    assert json.loads(response.read()) == {"message": "Bad Request"}
    connection.close()
    assert recorder.events == []


def test_keep_alive_connection_serves_several_requests(gateway, recorder):
    with requests.Session() as session:
        for _ in range(3):
            assert session.get(f"{gateway.url}/studios/s/streaming-sessions/requests/r", timeout=10).ok
    assert len(recorder.events) == 3


def test_stop_is_idempotent_and_frees_the_port(recorder):
    running = serve_api(recorder)
    with requests.Session() as session:  # an idle keep-alive connection must not block stop()
        session.get(f"{running.url}/studios/s/streaming-sessions/requests/r", timeout=10)
        running.stop()
        running.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{running.url}/studios/s/streaming-sessions/requests/r", timeout=2)
