"""Fixtures of the infrastructure tests (template.yaml, its linter configs, the event schemas):
the template as data, the committed schemas and the events/ samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local.engine import load_template

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
EVENTS = ROOT / "events"
READY = "Streaming Session Ready"
FAILED = "Streaming Session Failed"
DELAYED = "Streaming Session Delayed"
SCHEMA_FILES = {
    READY: "streaming_session_ready.json",
    FAILED: "streaming_session_failed.json",
    DELAYED: "streaming_session_delayed.json",
}


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


@pytest.fixture(scope="session")
def resources(template) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="session")
def schemas() -> dict[str, dict[str, Any]]:
    """The committed schemas by detail-type."""
    return {
        detail_type: json.loads((SCHEMAS / file).read_text(encoding="utf-8"))
        for detail_type, file in SCHEMA_FILES.items()
    }


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))
