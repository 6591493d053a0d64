"""An engine of its own (not the module fixture): start, deliver, stop, restore."""

from __future__ import annotations

import json
import os

import pytest

from local.engine import EngineError, LocalEngine
from tests.workflow.support import PARAMETERS, STUDIO


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
