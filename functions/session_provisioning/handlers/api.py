"""ApiFunction: the HTTP API (API Gateway REST proxy events) in front of the workflow.

Thin by design: routing, request parsing (Powertools validation with the shared models) and
the mapping of every failure to `{"code", "message"[, "fields"]}` live here; what the routes
do lives in `session_provisioning.logic.requests`.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from typing import Annotated, Any
from urllib.parse import quote

import botocore.session
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from session_provisioning.logic.requests import (
    CLIENT_TOKEN_HEADER,
    MAX_BODY_BYTES,
    ApiError,
    get_request_status,
    parse_json_body,
    region_of,
    start_request,
)
from session_provisioning.models.api import ErrorBody, RequestAccepted, RequestStatus
from session_provisioning.models.request import ClientToken, SessionRequestBody, StudioId
from session_provisioning.observability import logger, metrics, tracer

CREATE_PATH = "/studios/<studioId>/streaming-sessions"
STATUS_PATH = "/studios/<studioId>/streaming-sessions/requests/<requestId>"
# Which methods each resource answers: anything else on a known path is a 405, not a 404.
ROUTE_METHODS = {CREATE_PATH: ("POST",), STATUS_PATH: ("GET",)}
_ROUTE_REGEX = {rule: re.compile("^" + re.sub(r"<\w+>", "[^/]+", rule) + "$") for rule in ROUTE_METHODS}

OPENAPI_TITLE = "Nimble Studio streaming sessions on request"
OPENAPI_DESCRIPTION = (
    "Ask for a Nimble Studio streaming session with one request; a Step Functions workflow "
    "creates it and polls it until READY, and one EventBridge event announces the outcome. "
    "Paths are relative to the stage URL (the stack's ApiUrl output, or http://127.0.0.1:3000 "
    "for `make run`). Deployed, calls are SigV4-signed (service execute-api) unless the stack "
    "was deployed with ApiAuthType=NONE. Every error body is {code, message}, plus fields for "
    f"a ValidationException. Request bodies are limited to {MAX_BODY_BYTES} bytes."
)

# The resolver parses bodies with our stricter parser (size, object, duplicates, NaN).
# Validation is enabled per route rather than for the resolver, so the OpenAPI document
# does not advertise Powertools' 422: validation failures are our 400.
app = APIGatewayRestResolver(json_body_deserializer=parse_json_body)

_STEP_FUNCTIONS_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=5,
    read_timeout=10,  # well inside API Gateway's 29 s integration timeout
)
_sfn_clients: dict[str, Any] = {}


def sfn_client(region: str) -> Any:
    """One Step Functions client per region, created on first use and kept for warm invocations.

    Made from a botocore session, as boto3 would make it: importing boto3 (and s3transfer with
    it) would add ~25 ms to every cold start for nothing this function uses.
    """
    if region not in _sfn_clients:
        _sfn_clients[region] = botocore.session.get_session().create_client(
            "stepfunctions", region_name=region, config=_STEP_FUNCTIONS_CONFIG
        )
    return _sfn_clients[region]


def _state_machine() -> tuple[Any, str]:
    arn = os.environ.get("STATE_MACHINE_ARN", "")
    try:
        region = region_of(arn)
    except ValueError:
        logger.error("STATE_MACHINE_ARN is not a state machine ARN", extra={"stateMachineArn": arn})
        raise ApiError(500, "InternalServerErrorException", "The API is not configured.") from None
    return sfn_client(region), arn


# --- OpenAPI descriptions of the answers ------------------------------------------------------


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}}}


_COMMON_ERRORS = {
    429: _error_response("ThrottlingException: Step Functions throttled the call; retry with backoff."),
    500: _error_response("InternalServerErrorException: our fault; the request id is in the logs."),
    503: _error_response("ServiceUnavailableException: Step Functions did not answer; retry later."),
}

_IDEMPOTENCY_HEADER_DESCRIPTION = (
    "Idempotency token, 1-64 characters. The same studio, token and body give the same "
    "requestId (one workflow, one session); the same token with another body is a 409. "
    "When absent the API generates one and returns it."
)


# --- routes -------------------------------------------------------------------------------------


@app.post(
    CREATE_PATH,
    status_code=202,
    enable_validation=True,
    operation_id="CreateStreamingSessionRequest",
    summary="Request a streaming session",
    description="Validates the request and starts the provisioning workflow. Poll the `Location` "
    "for the outcome, or listen for the Streaming Session Ready / Failed event.",
    tags=["Streaming session requests"],
    response_description="Accepted: the workflow runs (or ran) under requestId.",
    responses={
        202: {
            "description": "Accepted: the workflow runs (or, for a replay, ran) under requestId.",
            "headers": {
                "Location": {
                    "description": "The status resource: "
                    "/studios/{studioId}/streaming-sessions/requests/{requestId}, relative to the stage.",
                    "schema": {"type": "string"},
                },
            },
            "content": {content_types.APPLICATION_JSON: {"model": RequestAccepted}},
        },
        400: _error_response(
            "ValidationException: fields names each offending body member, the X-Amz-Client-Token "
            "header, Content-Type, or (body) for a body that is not a JSON object of at most "
            f"{MAX_BODY_BYTES} bytes of UTF-8."
        ),
        404: _error_response(
            "ResourceNotFoundException: the path names no resource (e.g. a studioId with characters "
            "no studio id has)."
        ),
        409: _error_response("ConflictException: this client token was used for a different body."),
        **_COMMON_ERRORS,
    },
)
def create_request(
    studioId: Annotated[StudioId, Path(description="The Nimble Studio studio, e.g. studio-local.")],
    body: Annotated[SessionRequestBody, Body(description="CreateStreamingSession's body.")],
    client_token: Annotated[
        ClientToken | None, Header(alias=CLIENT_TOKEN_HEADER, description=_IDEMPOTENCY_HEADER_DESCRIPTION)
    ] = None,
):
    if not _is_json_content_type():
        # A form body can satisfy the model once Powertools has parsed it: the API takes JSON only.
        raise _content_type_error()
    client, arn = _state_machine()
    accepted = start_request(studioId, client_token, body, client, arn)
    logger.info(
        "request accepted",
        extra={
            "requestId": accepted.request_id,
            "studioId": studioId,
            "tokenGenerated": client_token is None,
        },
    )
    metrics.add_metric(name="RequestsAccepted", unit=MetricUnit.Count, value=1)
    location = _stage_prefix() + STATUS_PATH.replace("<studioId>", quote(studioId, safe="")).replace(
        "<requestId>", accepted.request_id
    )
    return _json_response(202, accepted.to_json(), {"Location": location})


@app.get(
    STATUS_PATH,
    enable_validation=True,
    operation_id="GetStreamingSessionRequest",
    summary="Read a request's status",
    description="IN_PROGRESS while the workflow runs; READY with the session, or FAILED with the "
    "error of the Streaming Session Failed event.",
    tags=["Streaming session requests"],
    responses={
        200: {
            "description": "The request's status.",
            "content": {content_types.APPLICATION_JSON: {"model": RequestStatus}},
        },
        400: _error_response("ValidationException: the studioId is not a studio id (1-256 characters)."),
        404: _error_response("ResourceNotFoundException: no such request in this studio."),
        **_COMMON_ERRORS,
    },
)
def read_request_status(
    studioId: Annotated[StudioId, Path(description="The studio the request was made in.")],
    requestId: Annotated[str, Path(description="The requestId of the 202 answer.")],
):
    client, arn = _state_machine()
    status = get_request_status(studioId, requestId, client, arn)
    return _json_response(200, status.to_json())


# --- every failure as {"code", "message"} -------------------------------------------------------


def _json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        headers=headers,
    )


def _error(error: ApiError) -> Response:
    body = ErrorBody(code=error.code, message=error.message, fields=error.fields)
    return _json_response(error.status, body.to_json(), error.headers)


@app.exception_handler(ApiError)
def _api_error(error: ApiError) -> Response:
    if error.status >= 500 or error.status == 429:
        cause = error.__cause__
        logger.error(
            "request failed",
            extra={"code": error.code, "status": error.status, "cause": repr(cause) if cause else None},
        )
        metrics.add_metric(name="ApiErrors", unit=MetricUnit.Count, value=1)
        metrics.add_metadata(key="errorCode", value=error.code)
    return _error(error)


@app.exception_handler(RequestValidationError)
def _invalid_request(error: RequestValidationError) -> Response:
    if not _is_json_content_type():
        return _error(_content_type_error())
    fields: list[str] = []
    reasons: list[str] = []
    for item in error.errors():
        name = _field_name(tuple(item.get("loc", ())))
        if name not in fields:
            fields.append(name)
        reasons.append(f"{name}: {_reason(item)}")
    return _error(ApiError(400, "ValidationException", "; ".join(reasons), fields=fields))


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported_content_type(error: RequestUnsupportedContentType) -> Response:
    return _error(_content_type_error())


@app.exception_handler(ValueError)
def _unparseable_body(error: ValueError) -> Response:
    # Powertools parses a multipart or form body before validation and raises ValueError on a
    # malformed one: the client's mistake (a body we do not take), not ours.
    if not _is_json_content_type():
        return _error(_content_type_error())
    return _unexpected(error)


@app.exception_handler(UnicodeDecodeError)
def _not_utf8(error: UnicodeDecodeError) -> Response:
    # Only a base64-encoded body is decoded as UTF-8 on the way in.
    return _error(
        ApiError(400, "ValidationException", "The request body is not UTF-8 text.", fields=["(body)"])
    )


@app.not_found
def _no_route(error: NotFoundError) -> Response:
    method = app.current_event.http_method.upper()
    path = app.current_event.path
    allowed = sorted(
        {m for rule, methods in ROUTE_METHODS.items() if _ROUTE_REGEX[rule].match(path) for m in methods}
    )
    if allowed and method not in allowed:
        return _error(
            ApiError(
                405,
                "MethodNotAllowedException",
                f"{method} is not supported on {path}; use {' or '.join(allowed)}.",
                headers={"Allow": ", ".join(allowed)},
            )
        )
    return _error(ApiError(404, "ResourceNotFoundException", f"There is no resource at {path}."))


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response:
    logger.exception("unexpected error")
    metrics.add_metric(name="ApiErrors", unit=MetricUnit.Count, value=1)
    metrics.add_metadata(key="errorCode", value="InternalServerErrorException")
    return _error(ApiError(500, "InternalServerErrorException", "Internal error; it was logged."))


def _field_name(location: tuple[Any, ...]) -> str:
    """A Powertools/pydantic error location as the client spells the field."""
    if not location:
        return "(body)"
    kind, rest = location[0], [str(part) for part in location[1:]]
    if kind == "header":
        return (
            CLIENT_TOKEN_HEADER if rest and rest[0].lower() == CLIENT_TOKEN_HEADER.lower() else ".".join(rest)
        )
    if kind == "body":
        return ".".join(rest) or "(body)"
    return ".".join(rest) or str(kind)


def _reason(item: dict[str, Any]) -> str:
    if item.get("type") == "missing" and tuple(item.get("loc", ())) == ("body",):
        return "a JSON object is required"
    return str(item.get("msg") or item.get("type") or "invalid")


def _content_type() -> str:
    return (app.current_event.headers.get("content-type") or "").strip()


def _is_json_content_type() -> bool:
    content_type = _content_type().lower()
    return not content_type or content_type.split(";")[0].strip() == content_types.APPLICATION_JSON


def _content_type_error() -> ApiError:
    return ApiError(
        400,
        "ValidationException",
        f"Content-Type {_content_type()!r} is not supported; send application/json.",
        fields=["Content-Type"],
    )


def _stage_prefix() -> str:
    """The part of the URL before the API's paths (/v1 through the execute-api URL, '' locally)."""
    full = app.current_event.request_context.path or ""
    path = app.current_event.path
    return full[: -len(path)] if path and full.endswith(path) else ""


# --- the handler --------------------------------------------------------------------------------


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with warnings.catch_warnings():
        # Most answers (reads, client errors) have no metric of their own: that is expected.
        warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
        return _handle(event, context)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = app.resolve(event, context)
    logger.info(
        "request handled",
        extra={
            "httpMethod": event.get("httpMethod"),
            "resource": event.get("resource"),
            "statusCode": response.get("statusCode"),
        },
    )
    return response


# --- the OpenAPI document (scripts/export_openapi.py writes it to openapi.json) -----------------


def openapi_document(version: str) -> dict[str, Any]:
    # Imported here, not at module level: Powertools' OpenAPI models are ~60 ms of pydantic class
    # building that no request needs (only scripts/export_openapi.py and the drift test do).
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, Server

    document = json.loads(
        app.get_openapi_json_schema(
            title=OPENAPI_TITLE,
            version=version,
            description=OPENAPI_DESCRIPTION,
            servers=[
                Server(
                    url="/",
                    description="Relative to the stage URL (ApiUrl output; http://127.0.0.1:3000 locally)",
                )
            ],
            security_schemes={
                "sigv4": APIKey(
                    name="Authorization",
                    in_=APIKeyIn.header,
                    description="AWS Signature Version 4, service execute-api (scripts/signed_request.py).",
                )
            },
            security=[{"sigv4": []}],
        )
    )
    # Powertools always adds its 422 schemas; this API answers validation errors with a 400 ErrorBody.
    schemas = document.get("components", {}).get("schemas", {})
    text = json.dumps(document.get("paths", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}" not in text:
            schemas.pop(name, None)
    return document
