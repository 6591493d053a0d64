"""The API's OpenAPI description: operation texts, documented answers, and the document itself.

scripts/export_openapi.py writes the document to openapi.json; a test keeps the two equal.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, content_types

from session_provisioning.api.body import MAX_BODY_BYTES
from session_provisioning.models.api import ErrorBody, RequestAccepted, RequestStatus

TITLE = "Nimble Studio streaming sessions on request"
DESCRIPTION = (
    "Ask for a Nimble Studio streaming session with one request; a Step Functions workflow "
    "creates it and polls it until READY, and one EventBridge event announces the outcome. "
    "Paths are relative to the stage URL (the stack's ApiUrl output, or http://127.0.0.1:3000 "
    "for `make run`). Deployed, calls are SigV4-signed (service execute-api) unless the stack "
    "was deployed with ApiAuthType=NONE. Every error body is {code, message}, plus fields for "
    f"a ValidationException. Request bodies are limited to {MAX_BODY_BYTES} bytes."
)
IDEMPOTENCY_HEADER = (
    "Idempotency token, 1-64 characters. The same studio, token and body give the same "
    "requestId (one workflow, one session); the same token with another body is a 409. "
    "When absent the API generates one and returns it."
)
_TAGS = ["Streaming session requests"]


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}}}


_COMMON_ERRORS = {
    429: _error("ThrottlingException: Step Functions throttled the call; retry with backoff."),
    500: _error("InternalServerErrorException: our fault; the request id is in the logs."),
    503: _error("ServiceUnavailableException: Step Functions did not answer; retry later."),
}

#: Keyword arguments of the POST route's decorator.
CREATE_OPERATION: dict[str, Any] = {
    "operation_id": "CreateStreamingSessionRequest",
    "summary": "Request a streaming session",
    "description": "Validates the request and starts the provisioning workflow. Poll the `Location` "
    "for the outcome, or listen for the Streaming Session Ready / Failed event.",
    "tags": _TAGS,
    "response_description": "Accepted: the workflow runs (or ran) under requestId.",
    "responses": {
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
        400: _error(
            "ValidationException: fields names each offending body member, the X-Amz-Client-Token "
            "header, Content-Type, or (body) for a body that is not a JSON object of at most "
            f"{MAX_BODY_BYTES} bytes of UTF-8."
        ),
        404: _error(
            "ResourceNotFoundException: the path names no resource (e.g. a studioId with characters "
            "no studio id has)."
        ),
        409: _error("ConflictException: this client token was used for a different body."),
        **_COMMON_ERRORS,
    },
}

#: Keyword arguments of the GET route's decorator.
STATUS_OPERATION: dict[str, Any] = {
    "operation_id": "GetStreamingSessionRequest",
    "summary": "Read a request's status",
    "description": "IN_PROGRESS while the workflow runs; READY with the session, FAILED with the "
    "error of the Streaming Session Failed event, or CANCELLED (error.code RequestCancelled).",
    "tags": _TAGS,
    "responses": {
        200: {
            "description": "The request's status.",
            "content": {content_types.APPLICATION_JSON: {"model": RequestStatus}},
        },
        400: _error("ValidationException: the studioId is not a studio id (1-256 characters)."),
        404: _error("ResourceNotFoundException: no such request in this studio."),
        **_COMMON_ERRORS,
    },
}


#: Keyword arguments of the DELETE route's decorator.
CANCEL_OPERATION: dict[str, Any] = {
    "operation_id": "CancelStreamingSessionRequest",
    "summary": "Cancel a request",
    "description": "Stops provisioning. A session the request created is deleted, and the "
    "Streaming Session Failed event (error.code RequestCancelled, cancelledBy) says what became of "
    "it in cleanup. Idempotent: a request already CANCELLED is answered 202 again, with nothing "
    "more done.",
    "tags": _TAGS,
    "responses": {
        202: {
            "description": "Cancelled: the status, CANCELLED with error.code RequestCancelled "
            "(cleanup is in the Failed event).",
            "content": {content_types.APPLICATION_JSON: {"model": RequestStatus}},
        },
        400: _error("ValidationException: the studioId is not a studio id (1-256 characters)."),
        404: _error("ResourceNotFoundException: no such request in this studio."),
        409: _error(
            "ConflictException: the request already ended READY (release the session with Nimble "
            "Studio's DeleteStreamingSession) or FAILED."
        ),
        **_COMMON_ERRORS,
    },
}


def openapi_document(app: APIGatewayRestResolver, version: str) -> dict[str, Any]:
    # Imported here, not at module level: Powertools' OpenAPI models are ~60 ms of pydantic class
    # building that no request needs (only scripts/export_openapi.py and the drift test do).
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, Server

    document = json.loads(
        app.get_openapi_json_schema(
            title=TITLE,
            version=version,
            description=DESCRIPTION,
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
