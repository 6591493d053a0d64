"""The local HTTP API fuzzed from openapi.json (schemathesis), in-process, on 127.0.0.1.

Valid and invalid requests generated from the committed OpenAPI document go over real HTTP to
``serve_api`` in front of the API function, which starts real workflows in the engine. Whatever
the request, the API must not answer 5xx, and every error must be JSON with ``code`` and
``message``; the answers must also conform to the document (status codes, content types,
response schemas). Bounded and deterministic: a fixed number of examples per operation, derived
from the test itself.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest
import requests
import schemathesis
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from local.api_gateway import serve_api
from local.emulator import EmulatorConfig, start_emulator
from local.engine import LocalEngine
from tests.support.workflow import ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_PER_OPERATION = 60

schema = schemathesis.openapi.from_path(ROOT / "openapi.json")
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=EXAMPLES_PER_OPERATION,
    deterministic=True,
    database="none",
)


@pytest.fixture(scope="module")
def emulator():
    with start_emulator(port=0, config=EmulatorConfig(provisioning_seconds=1)) as emu:
        yield emu


@pytest.fixture(scope="module")
def api_url(emulator):
    overrides = {
        "NimbleEndpointUrl": emulator.url,
        "PollInitialWaitSeconds": 0,
        "PollIntervalSeconds": 1,
        "PollChecksPerInvocation": 1,
    }
    with LocalEngine(parameter_overrides=overrides, environment=ENVIRONMENT) as engine:
        api = serve_api(lambda event: engine.invoke("ApiFunction", event), port=0)
        try:
            yield api.url
        finally:
            api.stop()


@pytest.fixture(scope="module")
def http_session():
    with requests.Session() as session:
        yield session


#: What API Gateway routes (ANY = these); other methods: see test_a_method_api_gateway_lacks_...
CREATE_PATH = "/studios/{studioId}/streaming-sessions"
STATUS_PATH = "/studios/{studioId}/streaming-sessions/requests/{requestId}"


def sent_content_type(case) -> str:
    headers = {name.lower(): value for name, value in (case.headers or {}).items()}
    return str(headers.get("content-type") or case.media_type or "").lower()


@schema.parametrize()
def test_the_api_never_fails_on_a_client_and_always_explains(case, api_url, http_session):
    response = case.call(base_url=api_url, session=http_session, timeout=30)
    assert response.status_code < 500, (case.as_curl_command(), response.status_code, response.text)
    if response.status_code >= 400:
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type.startswith("application/json"), response.headers
        body = json.loads(response.text)
        assert isinstance(body.get("code"), str)
        assert body["code"]
        assert isinstance(body.get("message"), str)
        assert body["message"]
    checks = [content_type_conformance, response_schema_conformance, status_code_conformance]
    case.validate_response(response, checks=checks)


def test_a_method_api_gateway_lacks_is_answered_in_json_not_501(api_url):
    host, port = api_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("TRACE", "/studios/studio-local/streaming-sessions")
        response = connection.getresponse()
        status, body = response.status, response.read()
    finally:
        connection.close()
    assert status < 500, (status, body[:200])
    answer = json.loads(body)
    assert answer.get("code")
    assert answer.get("message")


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("GET", f"/studios/{'s' * 257}/streaming-sessions/requests/req-x", STATUS_PATH),
        ("POST", "/studios/studio-%F0%9F%98%80/streaming-sessions", CREATE_PATH),
    ],
    ids=["status-long-studio", "create-emoji-studio"],
)
def test_every_answer_is_documented(api_url, method, path, template):
    document = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    documented = set(document["paths"][template][method.lower()]["responses"])
    response = requests.request(method, api_url + path, json={"launchProfileId": "lp-local"}, timeout=10)
    assert response.json()["code"]
    assert str(response.status_code) in documented, (response.status_code, response.text, sorted(documented))


MULTIPART_FORM = (
    b'--XX\r\nContent-Disposition: form-data; name="launchProfileId"\r\n\r\nlp-local\r\n--XX--\r\n'
)


@pytest.mark.filterwarnings("ignore:Received multipart/form-data:UserWarning")
@pytest.mark.parametrize(
    ("content_type", "body"),
    [("multipart/form-data", b"x"), ("multipart/form-data; boundary=XX", MULTIPART_FORM)],
    ids=["no-boundary", "form"],
)
def test_a_multipart_body_is_refused_like_any_non_json_body(api_url, content_type, body):
    response = requests.post(
        f"{api_url}/studios/studio-local/streaming-sessions",
        data=body,
        headers={"Content-Type": content_type},
        timeout=10,
    )
    assert response.status_code == 400, (response.status_code, response.text)
    assert response.json()["code"] == "ValidationException"
    assert response.json()["fields"] == ["Content-Type"]
