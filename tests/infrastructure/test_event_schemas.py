"""The event schemas come from the detail models, are committed in schemas/ and inlined in
template.yaml (AWS::EventSchemas::Schema Content, as an escaped string), and say what the events
really are."""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft4Validator

from session_provisioning.models.events import DelayedDetail, FailedDetail, ReadyDetail

from .conftest import DELAYED, FAILED, READY, ROOT, SCHEMA_FILES, sample

SCHEMA_RESOURCES = {
    READY: "StreamingSessionReadySchema",
    FAILED: "StreamingSessionFailedSchema",
    DELAYED: "StreamingSessionDelayedSchema",
}
DETAIL_MODELS = {READY: ReadyDetail, FAILED: FailedDetail, DELAYED: DelayedDetail}
SAMPLES = {
    "eventbridge_session_ready.json": READY,
    "eventbridge_session_failed.json": FAILED,
    "eventbridge_session_delayed.json": DELAYED,
    "session_ready_consumer.json": READY,
}


@pytest.fixture(scope="module")
def generator():
    path = ROOT / "scripts" / "generate_event_schemas.py"
    spec = importlib.util.spec_from_file_location("generate_event_schemas", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def validation_errors(schema: dict[str, Any], event: dict[str, Any]) -> list[str]:
    validator = Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(event))


# --- in sync: models -> schemas/*.json -> template.yaml --------------------------------------------


def test_committed_schemas_are_generated_from_the_models(generator):
    for event in generator.event_schemas():
        committed = (ROOT / "schemas" / event.file).read_text(encoding="utf-8")
        assert committed == generator.render(event), (
            f"schemas/{event.file} drifted from {event.model.__name__}: "
            "run python scripts/generate_event_schemas.py"
        )


def test_template_inlines_the_committed_schemas(resources):
    for detail_type, logical_id in SCHEMA_RESOURCES.items():
        properties = resources[logical_id]["Properties"]
        text = (ROOT / "schemas" / SCHEMA_FILES[detail_type]).read_text(encoding="utf-8")
        assert properties["Type"] == "JSONSchemaDraft4"
        assert properties["Content"] == text.rstrip("\n"), (
            f"{logical_id}.Content differs from schemas/{SCHEMA_FILES[detail_type]}: "
            "run python scripts/generate_event_schemas.py"
        )
        assert properties["RegistryName"] == {"Fn::GetAtt": ["EventSchemaRegistry", "RegistryName"]}
        assert properties["SchemaName"] == {"Fn::Sub": "${EventSource}@" + detail_type.replace(" ", "")}


def test_template_is_what_the_generator_writes(generator):
    assert generator.main(["--check"]) == 0


def test_check_mode_reports_drift_of_a_file_or_the_template(generator, tmp_path):
    schemas_dir, template = tmp_path / "schemas", tmp_path / "template.yaml"
    shutil.copytree(ROOT / "schemas", schemas_dir)
    shutil.copy(ROOT / "template.yaml", template)
    arguments = ["--schemas-dir", str(schemas_dir), "--template", str(template)]
    assert generator.main(["--check", *arguments]) == 0

    stale = schemas_dir / "streaming_session_ready.json"
    stale.write_text(stale.read_text().replace('"sessionId"', '"sessionID"'), encoding="utf-8")
    assert generator.main(["--check", *arguments]) == 1
    assert generator.main(arguments) == 0
    assert generator.main(["--check", *arguments]) == 0

    text = template.read_text(encoding="utf-8")
    # The template holds the schema as an escaped double-quoted string.
    drifted = text.replace('\\"secondsElapsed\\"', '\\"elapsed\\"', 1)
    assert drifted != text
    template.write_text(drifted, encoding="utf-8")
    assert generator.main(["--check", *arguments]) == 1
    assert generator.main(arguments) == 0
    assert template.read_text(encoding="utf-8") == text


def test_generator_needs_the_markers(generator):
    with pytest.raises(ValueError, match="BEGIN GENERATED"):
        generator.render_template("Resources: {}\n", {"streaming_session_ready.json": "{}\n"})


# --- what the schemas say -----------------------------------------------------------------------


@pytest.mark.parametrize("detail_type", [READY, FAILED, DELAYED])
def test_schema_is_draft_4_and_describes_the_model(schemas, detail_type):
    schema = schemas[detail_type]
    Draft4Validator.check_schema(schema)
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["properties"]["detail-type"]["enum"] == [detail_type]
    model = DETAIL_MODELS[detail_type]
    detail = schema["definitions"][model.__name__]
    assert schema["properties"]["detail"] == {"$ref": f"#/definitions/{model.__name__}"}
    assert set(detail["properties"]) == {field.alias or name for name, field in model.model_fields.items()}
    assert set(detail["required"]) == {
        field.alias or name for name, field in model.model_fields.items() if field.is_required()
    }
    assert detail["additionalProperties"] is False
    text = json.dumps(schema)
    assert "$defs" not in text
    # Unset members are absent from the events, never null; except in an attempt's entry, whose
    # shape is fixed by the product (sessionId, code and ec2InstanceType null when they do not apply).
    attempt = schema["definitions"]["AttemptRecord"]
    assert set(attempt["required"]) == set(attempt["properties"])
    others = {name: value for name, value in schema["definitions"].items() if name != "AttemptRecord"}
    assert '"null"' not in json.dumps({**schema, "definitions": others})


@pytest.mark.parametrize(("name", "detail_type"), SAMPLES.items())
def test_event_samples_validate(schemas, name, detail_type):
    event = sample(name)
    assert event["detail-type"] == detail_type
    assert validation_errors(schemas[detail_type], event) == []
    DETAIL_MODELS[detail_type].model_validate(event["detail"])  # and the model agrees


def test_schemas_reject_what_the_models_reject(schemas):
    ready, failed = sample("eventbridge_session_ready.json"), sample("eventbridge_session_failed.json")

    missing = copy.deepcopy(ready)
    del missing["detail"]["sessionId"]
    assert validation_errors(schemas[READY], missing) == ["detail: 'sessionId' is a required property"]

    unknown = copy.deepcopy(ready)
    unknown["detail"]["surprise"] = 1
    assert any("surprise" in error for error in validation_errors(schemas[READY], unknown))

    negative = copy.deepcopy(ready)
    negative["detail"]["timings"]["secondsElapsed"] = -1
    assert validation_errors(schemas[READY], negative)

    null = copy.deepcopy(failed)
    null["detail"]["error"]["step"] = None
    assert validation_errors(schemas[FAILED], null)

    no_error = copy.deepcopy(failed)
    del no_error["detail"]["error"]
    assert validation_errors(schemas[FAILED], no_error) == ["detail: 'error' is a required property"]

    assert validation_errors(schemas[FAILED], ready)  # detail-type and detail both differ
    assert validation_errors(schemas[READY], failed)

    no_envelope = copy.deepcopy(ready)
    del no_envelope["account"]
    assert validation_errors(schemas[READY], no_envelope) == [": 'account' is a required property"]

    bad_time = copy.deepcopy(ready)
    bad_time["time"] = "yesterday"
    assert validation_errors(schemas[READY], bad_time)


def test_a_replayed_event_validates(schemas):
    event = sample("eventbridge_session_ready.json")
    event["replay-name"] = "after-outage"
    assert validation_errors(schemas[READY], event) == []


def test_generated_files_are_the_only_schemas():
    assert sorted(path.name for path in Path(ROOT / "schemas").glob("*.json")) == sorted(
        SCHEMA_FILES.values()
    )


def test_template_content_reads_back_as_the_schema_text(generator):
    # Backslashes, quotes, escaped newlines in descriptions, non-ASCII and nested members.
    schema = {
        "description": 'a "quoted" C:\\path,\nthen a new line, and é',
        "required": ["a", "b"],
        "properties": {"a": {"type": "string"}, "b": {"items": {"type": "integer"}, "type": "array"}},
        "definitions": {"D": {"properties": {"x": {"type": "string"}}, "type": "object"}},
    }
    text = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    file = "streaming_session_ready.json"
    template = f"Resources:\n  S:\n    Properties:\n      # BEGIN GENERATED schemas/{file}\n      # END GENERATED schemas/{file}\n"
    rendered = generator.render_template(template, {file: text})
    assert yaml.safe_load(rendered)["Resources"]["S"]["Properties"]["Content"] == text.rstrip("\n")
    assert generator.render_template(rendered, {file: text}) == rendered
