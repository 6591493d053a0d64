"""Every failure as an HTTP answer `{"code", "message"[, "fields"]}`, in one place.

The logic raises domain errors (session_provisioning.logic.requests); this module says which
HTTP status and error code each one is, and answers what Powertools itself raises (validation,
content types, unknown routes) in the same shape.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from session_provisioning.logic import requests
from session_provisioning.models.api import ErrorBody
from session_provisioning.models.base import field_name

CLIENT_TOKEN_HEADER = "X-Amz-Client-Token"  # noqa: S105 - a header name


class ApiError(Exception):
    """An answer other than success: HTTP status, error code, message (and the offending fields)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}

    @classmethod
    def validation(cls, message: str, fields: list[str]) -> ApiError:
        return cls(400, "ValidationException", message, fields=fields)

    @classmethod
    def internal(cls, message: str = "Internal error; it was logged.") -> ApiError:
        return cls(500, "InternalServerErrorException", message)

    def response(self) -> Response:
        body = ErrorBody(code=self.code, message=self.message, fields=self.fields)
        return json_response(self.status, body.to_json(), self.headers)


# Each domain error: HTTP status, error code, and headers of its own.
_ANSWERS: dict[type[requests.RequestOperationError], tuple[int, str, dict[str, str]]] = {
    requests.ReadyByOutOfRange: (400, "ValidationException", {}),
    requests.RequestNotFound: (404, "ResourceNotFoundException", {}),
    requests.ClientTokenConflict: (409, "ConflictException", {}),
    requests.RequestNotCancellable: (409, "ConflictException", {}),
    requests.WorkflowThrottled: (429, "ThrottlingException", {"Retry-After": "1"}),
    requests.WorkflowUnavailable: (503, "ServiceUnavailableException", {}),
    requests.WorkflowFault: (500, "InternalServerErrorException", {}),
}


def from_domain(error: requests.RequestOperationError) -> ApiError:
    status, code, headers = _ANSWERS[type(error)]
    fields = list(getattr(error, "fields", ())) or None
    answer = ApiError(status, code, error.message, headers=dict(headers), fields=fields)
    if error.client_token is not None:
        # The request may have started: the retry must be a replay, never a second request.
        answer.headers[CLIENT_TOKEN_HEADER] = error.client_token
        answer.message = f"{answer.message} Retry with {CLIENT_TOKEN_HEADER}: {error.client_token}."
    return answer


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        headers=headers,
    )


def validation_answer(errors: list[dict[str, Any]]) -> ApiError:
    """Powertools' request validation errors as one 400 naming each field as the client spells it."""
    fields: list[str] = []
    reasons: list[str] = []
    for item in errors:
        name = _field_name(tuple(item.get("loc", ())))
        if name not in fields:
            fields.append(name)
        if item.get("type") == "missing" and tuple(item.get("loc", ())) == ("body",):
            reasons.append(f"{name}: a JSON object is required")
        else:
            reasons.append(f"{name}: {item.get('msg') or item.get('type') or 'invalid'}")
    return ApiError.validation("; ".join(reasons), fields)


def _field_name(location: tuple[Any, ...]) -> str:
    """A Powertools error location ("body"/"header"/"path", then the field) as the client spells it."""
    if not location:
        return "(body)"
    kind, rest = location[0], [str(part) for part in location[1:]]
    if kind == "header":
        return (
            CLIENT_TOKEN_HEADER if rest and rest[0].lower() == CLIENT_TOKEN_HEADER.lower() else ".".join(rest)
        )
    if kind == "body":
        return field_name(rest)
    return ".".join(rest) or str(kind)


def allowed_methods_answer(method: str, path: str, allowed: list[str]) -> ApiError:
    if allowed and method not in allowed:
        return ApiError(
            405,
            "MethodNotAllowedException",
            f"{method} is not supported on {path}; use {' or '.join(allowed)}.",
            headers={"Allow": ", ".join(allowed)},
        )
    return ApiError(404, "ResourceNotFoundException", f"There is no resource at {path}.")
