"""events/api_*.json are real REST proxy events (as deployed, stage v1) that work as a pair:
the status sample reads the request the create sample makes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from session_provisioning.logic.requests import request_id_for
from tests.support.api import IMAGE, LAUNCH_PROFILE, STUDIO, as_reply

EVENTS = Path(__file__).resolve().parents[2] / "events"
PROXY_KEYS = {
    "resource",
    "path",
    "httpMethod",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "pathParameters",
    "requestContext",
    "body",
    "isBase64Encoded",
}


def sample(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["api_create_request", "api_get_request_status"])
def test_sample_has_the_proxy_event_shape(name):
    event = sample(name)
    assert event.keys() >= PROXY_KEYS
    context = event["requestContext"]
    assert {"requestId", "stage", "resourcePath", "httpMethod", "identity", "path"} <= context.keys()
    assert context["identity"]["sourceIp"]
    assert context["resourcePath"] == event["resource"]
    assert context["path"] == f"/{context['stage']}{event['path']}"
    assert event["pathParameters"]["studioId"] == STUDIO
    for header, value in event["headers"].items():
        assert event["multiValueHeaders"][header][-1] == value


def test_samples_use_the_local_fixtures_and_belong_together():
    create, status = sample("api_create_request"), sample("api_get_request_status")
    body = json.loads(create["body"])
    assert body["launchProfileId"] == LAUNCH_PROFILE
    assert body["streamingImageId"] == IMAGE
    token = create["headers"]["X-Amz-Client-Token"]
    assert status["pathParameters"]["requestId"] == request_id_for(STUDIO, token)


def test_create_then_status_samples_through_the_handler(api):
    created = as_reply(api.engine.invoke("ApiFunction", sample("api_create_request")))
    assert created.status == 202
    request_id = sample("api_get_request_status")["pathParameters"]["requestId"]
    assert created.body["requestId"] == request_id
    # Called through the execute-api URL, the Location includes the stage.
    assert created.header("Location") == f"/v1/studios/{STUDIO}/streaming-sessions/requests/{request_id}"

    status = as_reply(api.engine.invoke("ApiFunction", sample("api_get_request_status")))
    assert status.status == 200
    assert status.body["requestId"] == request_id
    assert status.body["status"] in {"IN_PROGRESS", "READY"}
    final = api.wait_until_done(request_id)[-1].body
    assert final["status"] == "READY"
    assert final["session"]["ownedBy"] == "artist"
