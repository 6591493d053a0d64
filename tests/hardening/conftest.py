"""Fixtures of the production-hardening tests left here (the consumer, the workflow's events):
the committed event schemas and the events/ samples.

The template's own tests moved to tests/infrastructure, whose conftest has the same schema
fixture and constants.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
EVENTS = ROOT / "events"
READY = "Streaming Session Ready"
FAILED = "Streaming Session Failed"
SCHEMA_FILES = {READY: "streaming_session_ready.json", FAILED: "streaming_session_failed.json"}


@pytest.fixture(scope="session")
def schemas() -> dict[str, dict[str, Any]]:
    """The committed schemas by detail-type."""
    return {
        detail_type: json.loads((SCHEMAS / file).read_text(encoding="utf-8"))
        for detail_type, file in SCHEMA_FILES.items()
    }


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))
