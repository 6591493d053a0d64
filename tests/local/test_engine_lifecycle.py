"""Engines of their own (not a module fixture): start, deliver, stop; per-function environments."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from local.engine import REPO_ROOT, EngineError, LocalEngine, load_template
from tests.support.workflow import ENVIRONMENT, PARAMETERS, STUDIO


def test_life_cycle_events_file_callback_and_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "before")
    monkeypatch.delenv("STATE_MACHINE_ARN", raising=False)
    events_file = tmp_path / "deep" / "events.jsonl"
    seen: list[dict] = []
    engine = LocalEngine(
        parameter_overrides={**PARAMETERS, "EventSource": "test.source"},
        environment={"POWERTOOLS_METRICS_DISABLED": "true"},
        events_file=events_file,
        on_event=seen.append,
    )
    with engine:
        # The functions get the template's value; this process's environment is left alone.
        assert engine.handler_environment("ValidateRequestFunction")["POWERTOOLS_LOG_LEVEL"] == "INFO"
        assert os.environ["POWERTOOLS_LOG_LEVEL"] == "before"
        # Invalid input fails without reaching Nimble Studio: quick, and it still publishes.
        arn = engine.start_execution({"studioId": STUDIO}, name="lifecycle-1")
        assert engine.wait(arn)["status"] == "FAILED"
        delivered = engine.events()
    assert os.environ["POWERTOOLS_LOG_LEVEL"] == "before"
    assert "STATE_MACHINE_ARN" not in os.environ
    assert len(delivered) == 1
    assert delivered[0]["source"] == "test.source"
    assert seen == delivered
    assert [json.loads(line) for line in events_file.read_text().splitlines()] == delivered
    with pytest.raises(EngineError, match="not running"):
        engine.start_execution({}, name="after-stop")


def test_functions_may_give_one_variable_different_values(tmp_path):
    """Each function's worker has its own environment: no merging, so no conflict."""
    template = load_template(REPO_ROOT / "template.yaml")
    resources = template["Resources"]
    for logical_id, value in (("ValidateRequestFunction", "DEBUG"), ("DescribeFailureFunction", "ERROR")):
        properties = resources[logical_id]["Properties"]
        properties["Environment"] = {"Variables": {"POWERTOOLS_LOG_LEVEL": value, "ONLY_HERE": logical_id}}
    globals_ = template["Globals"]["Function"]
    globals_["CodeUri"] = str(REPO_ROOT / globals_.get("CodeUri", "functions"))
    machine = resources["ProvisioningStateMachine"]["Properties"]
    machine["DefinitionUri"] = str(REPO_ROOT / machine["DefinitionUri"])
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(template), encoding="utf-8")

    with LocalEngine(template_path=path, environment=ENVIRONMENT, preload=("tests.local.probe",)) as engine:
        seen = {
            logical_id: engine.invoke(logical_id, {"probe": "state"})["environ"]
            for logical_id in ("ValidateRequestFunction", "DescribeFailureFunction", "CreateSessionFunction")
        }
    assert seen["ValidateRequestFunction"]["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    assert seen["DescribeFailureFunction"]["POWERTOOLS_LOG_LEVEL"] == "ERROR"
    assert seen["CreateSessionFunction"]["POWERTOOLS_LOG_LEVEL"] == "INFO"  # Globals
    assert seen["ValidateRequestFunction"]["ONLY_HERE"] == "ValidateRequestFunction"
    assert "ONLY_HERE" not in seen["CreateSessionFunction"]
