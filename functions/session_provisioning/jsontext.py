"""JSON carried as text inside other JSON (Step Functions inputs, outputs and causes)."""

from __future__ import annotations

import json
from typing import Any


def parse_json(text: Any) -> Any:
    """The value `text` encodes, or None when it is not a string of JSON."""
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def parse_json_object(text: Any) -> dict[str, Any] | None:
    """The object `text` encodes, or None when it encodes anything else (or nothing)."""
    value = parse_json(text)
    return value if isinstance(value, dict) else None
