"""The rest-json protocol, on both sides of the wire: requests in, replies out, no sockets.

A request needs a SigV4 ``Authorization`` header (``AWS4-HMAC-SHA256 Credential=...``, else
403 ``AccessDeniedException``). The signature is not checked; the access key id of the
credential becomes ``createdBy`` (``local-user`` when the header names none). Bodies are JSON
objects: malformed JSON (``NaN`` and ``Infinity`` included: they are not JSON), a non-object
body, invalid UTF-8 and unknown members are 400 ``ValidationException`` naming the field(s).
Errors go out as the service sent them: the error's HTTP status, header
``x-amzn-ErrorType: <Code>``, body ``{"message": ..., "code": ..., "context": {...}}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.emulator.exceptions import (
    AccessDeniedException,
    NimbleError,
    ValidationException,
    validation_error,
)

__all__ = ["Reply", "Request", "authenticate", "json_members", "json_object", "json_value"]

_SIGV4_PREFIX = "AWS4-HMAC-SHA256"
_CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/")
_ANONYMOUS_CALLER = "local-user"


@dataclass
class Request:
    """One HTTP request, already read off the socket."""

    method: str
    target: str
    headers: Mapping[str, str]  # keys lower-case
    body: bytes = b""
    path: str = field(init=False)
    query: dict[str, str] = field(init=False)  # first value of each parameter

    def __post_init__(self) -> None:
        parts = urlsplit(self.target)
        self.path = parts.path
        self.query = {key: values[0] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    operation: str | None = None

    @classmethod
    def error(cls, error: NimbleError, operation: str | None = None) -> Reply:
        return cls(error.status, error.to_body(), {"x-amzn-ErrorType": error.code}, operation)


def authenticate(request: Request) -> str:
    """The caller's identity from a SigV4 Authorization header (signature not verified)."""
    authorization = request.header("Authorization") or ""
    if not authorization.startswith(_SIGV4_PREFIX):
        raise AccessDeniedException(
            "Missing SigV4 authentication: the request needs an 'Authorization: "
            f"{_SIGV4_PREFIX} Credential=...' header (any credentials will do).",
            {"reason": "unsigned"},
        )
    found = _CREDENTIAL_RE.search(authorization)
    return found.group(1) if found else _ANONYMOUS_CALLER


def json_value(body: bytes) -> Any:
    """The body as JSON (an empty body is ``{}``); a ValidationException when it is not JSON."""
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationException(
            f"The request body is not valid UTF-8 (byte {exc.start}).", {"fields": "body"}
        ) from None
    try:
        return json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError) as exc:
        # RecursionError: absurdly deep nesting is a malformed request, not our failure.
        raise ValidationException(f"The request body is not valid JSON: {exc}", {"fields": "body"}) from None


def _not_json(name: str) -> Any:
    # Python's json module reads NaN, Infinity and -Infinity; JSON has no such values.
    raise ValueError(f"{name} is not a JSON value")


def json_object(body: bytes) -> dict[str, Any]:
    value = json_value(body)
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(value), "a number"
        )
        raise ValidationException(f"The request body must be a JSON object, not {kind}.", {"fields": "body"})
    return value


def json_members(body: bytes, members: frozenset[str], owner: str) -> dict[str, Any]:
    """The body as an object holding only ``members`` (null = absent); ``owner`` names what
    the body is for in the complaint about any other member."""
    value = json_object(body)
    unknown = sorted(set(value) - members)
    if unknown:
        raise validation_error([(name, f"Unknown member for {owner}") for name in unknown])
    return {key: item for key, item in value.items() if item is not None}
