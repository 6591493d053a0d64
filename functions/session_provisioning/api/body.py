"""Request bodies: what the API takes (JSON objects, at most MAX_BODY_BYTES of UTF-8) and refuses."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from session_provisioning.api.errors import ApiError

# Bodies larger than this are refused with 400 before they are parsed. A valid body is far
# smaller (ids, an instance type and tags); the limit keeps the execution input well under
# Step Functions' 256 KiB and a hostile body from costing parse time and memory.
MAX_BODY_BYTES = 64 * 1024
JSON_CONTENT_TYPE = "application/json"


def invalid_body(message: str) -> ApiError:
    return ApiError.validation(message, ["(body)"])


def parse_json_body(text: str) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong with it.

    Stricter than json.loads: at most MAX_BODY_BYTES, an object at the top level, no NaN or
    Infinity (not JSON), no duplicate member names (which one would count?), no unpaired
    surrogate escapes (not Unicode, so not forwardable to Step Functions or Nimble Studio).
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        raise invalid_body(f"The request body is {size} bytes; at most {MAX_BODY_BYTES} bytes are accepted.")
    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_members)
    except _BodyError as error:
        raise invalid_body(str(error)) from None
    except ValueError as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        raise invalid_body(f"The request body is not valid JSON: {reason}.") from None
    except RecursionError:
        raise invalid_body("The request body is nested too deeply.") from None
    if not isinstance(value, dict):
        raise invalid_body(f"The request body must be a JSON object, not {_json_type(value)}.")
    _require_unicode(value)
    return value


def is_json(content_type: str) -> bool:
    """Whether a Content-Type header names JSON (an absent one is taken as JSON)."""
    media_type = content_type.split(";")[0].strip().lower()
    return not media_type or media_type == JSON_CONTENT_TYPE


def unsupported_content_type(content_type: str) -> ApiError:
    return ApiError.validation(
        f"Content-Type {content_type.strip()!r} is not supported; send {JSON_CONTENT_TYPE}.", ["Content-Type"]
    )


class _BodyError(ValueError):
    pass


def _reject_constant(name: str) -> NoReturn:
    raise _BodyError(f"The request body is not valid JSON: {name} is not a JSON value.")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _BodyError(f"The request body names the member {key!r} more than once.")
        result[key] = value
    return result


def _require_unicode(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        texts = [item] if isinstance(item, str) else list(item) if isinstance(item, dict) else []
        for text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise invalid_body(
                    "The request body contains an unpaired surrogate escape (not Unicode text)."
                ) from None
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string" if isinstance(value, str) else "an array"
