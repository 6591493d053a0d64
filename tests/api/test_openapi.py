"""openapi.json is generated from the API's resolver: it must be committed up to date, and say
what the API really answers."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def export():
    spec = importlib.util.spec_from_file_location("export_openapi", ROOT / "scripts" / "export_openapi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def document(export):
    return json.loads(export.render())


def test_committed_openapi_json_is_up_to_date(export):
    committed = (ROOT / "openapi.json").read_text(encoding="utf-8")
    assert committed == export.render(), "openapi.json drifted: run python scripts/export_openapi.py"


def test_check_mode_reports_drift(export, tmp_path, capsys):
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n", encoding="utf-8")
    assert export.main(["--check", "--output", str(stale)]) == 1
    assert export.main(["--output", str(stale)]) == 0
    assert export.main(["--check", "--output", str(stale)]) == 0


def test_create_operation_describes_body_header_and_answers(document):
    operation = document["paths"]["/studios/{studioId}/streaming-sessions"]["post"]
    body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema["$ref"] == "#/components/schemas/SessionRequestBody"
    assert operation["requestBody"]["required"] is True
    parameters = {(item["in"], item["name"].lower()): item for item in operation["parameters"]}
    assert parameters[("path", "studioid")]["required"] is True
    token = parameters[("header", "x-amz-client-token")]
    assert token["required"] is False
    assert {"minLength": 1, "maxLength": 64}.items() <= token["schema"]["anyOf"][0].items()
    responses = operation["responses"]
    assert set(responses) == {"202", "400", "404", "409", "429", "500", "503"}
    assert "Location" in responses["202"]["headers"]
    assert responses["202"]["content"]["application/json"]["schema"]["$ref"].endswith("/RequestAccepted")
    for status in ("400", "409", "429", "500", "503"):
        assert responses[status]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")


def test_status_operation_describes_answers(document):
    operation = document["paths"]["/studios/{studioId}/streaming-sessions/requests/{requestId}"]["get"]
    assert {item["name"] for item in operation["parameters"]} == {"studioId", "requestId"}
    responses = operation["responses"]
    assert set(responses) == {"200", "400", "404", "429", "500", "503"}
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/RequestStatus")


def test_schemas_carry_the_shared_constraints(document):
    schemas = document["components"]["schemas"]
    body = schemas["SessionRequestBody"]
    assert body["required"] == ["launchProfileId"]
    assert body["additionalProperties"] is False
    image = body["properties"]["streamingImageId"]["anyOf"][0]
    assert image["maxLength"] == 22
    assert image["pattern"] == "^[a-zA-Z0-9-_]*$"
    assert "g4dn.xlarge" in body["properties"]["ec2InstanceType"]["anyOf"][0]["enum"]
    status = schemas["RequestStatus"]["properties"]["status"]
    assert set(status["enum"]) == {"SCHEDULED", "IN_PROGRESS", "READY", "FAILED", "CANCELLED"}


def test_no_422_is_advertised(document):
    text = json.dumps(document)
    assert '"422"' not in text
    assert "HTTPValidationError" not in text


def test_servers_are_relative_and_calls_signed(document):
    assert [server["url"] for server in document["servers"]] == ["/"]
    assert document["security"] == [{"sigv4": []}]
    assert document["info"]["version"]
