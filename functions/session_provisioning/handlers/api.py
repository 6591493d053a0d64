"""ApiFunction: the HTTP API (API Gateway REST proxy events) in front of the workflow.

Routes only: each validates its input with the shared models, calls the logic
(session_provisioning.logic.requests) and returns its answer. Failures become
`{"code", "message"[, "fields"]}` in session_provisioning.api.errors; OpenAPI texts live in
session_provisioning.api.openapi.
"""

from __future__ import annotations

import os
import warnings
from typing import Annotated, Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from session_provisioning.api import openapi
from session_provisioning.api.body import is_json, parse_json_body, unsupported_content_type
from session_provisioning.api.errors import CLIENT_TOKEN_HEADER, json_response
from session_provisioning.api.handlers import register_error_handlers
from session_provisioning.clients import Clients
from session_provisioning.logic import requests
from session_provisioning.models.request import ClientToken, SessionRequestBody, StudioId
from session_provisioning.observability import lambda_entry, logger, metrics

CREATE_PATH = "/studios/<studioId>/streaming-sessions"
STATUS_PATH = "/studios/<studioId>/streaming-sessions/requests/<requestId>"
# Which methods each resource answers: anything else on a known path is a 405, not a 404.
ROUTE_METHODS = {CREATE_PATH: ("POST",), STATUS_PATH: ("GET", "DELETE")}

# Bodies go through our stricter parser (size, object, duplicates, NaN). Validation is enabled
# per route, so the OpenAPI document does not advertise Powertools' 422: ours is a 400.
app = APIGatewayRestResolver(json_body_deserializer=parse_json_body)
register_error_handlers(app, ROUTE_METHODS)
aws = Clients()


@app.post(CREATE_PATH, status_code=202, enable_validation=True, **openapi.CREATE_OPERATION)
def create_request(
    studioId: Annotated[StudioId, Path(description="The Nimble Studio studio, e.g. studio-local.")],
    body: Annotated[SessionRequestBody, Body(description="CreateStreamingSession's body.")],
    client_token: Annotated[
        ClientToken | None, Header(alias=CLIENT_TOKEN_HEADER, description=openapi.IDEMPOTENCY_HEADER)
    ] = None,
):  # no return annotation: Powertools would document the Response class as the body
    content_type = app.current_event.headers.get("content-type") or ""
    if not is_json(content_type):
        # A form body can satisfy the model once Powertools has parsed it: the API takes JSON only.
        raise unsupported_content_type(content_type)
    arn = requests.require_state_machine_arn(os.environ.get("STATE_MACHINE_ARN", ""))
    accepted = requests.start_request(studioId, client_token, body, aws.step_functions, arn)
    logger.info(
        "request accepted",
        extra={
            "requestId": accepted.request_id,
            "studioId": studioId,
            "tokenGenerated": client_token is None,
        },
    )
    metrics.add_metric(name="RequestsAccepted", unit=MetricUnit.Count, value=1)
    location = STATUS_PATH.replace("<studioId>", quote(studioId, safe="")).replace(
        "<requestId>", accepted.request_id
    )
    return json_response(202, accepted.to_json(), {"Location": _stage_prefix() + location})


@app.get(STATUS_PATH, enable_validation=True, **openapi.STATUS_OPERATION)
def read_request_status(
    studioId: Annotated[StudioId, Path(description="The studio the request was made in.")],
    requestId: Annotated[str, Path(description="The requestId of the 202 answer.")],
):
    arn = requests.require_state_machine_arn(os.environ.get("STATE_MACHINE_ARN", ""))
    status = requests.get_request_status(studioId, requestId, aws.step_functions, arn)
    return json_response(200, status.to_json())


@app.delete(STATUS_PATH, enable_validation=True, **openapi.CANCEL_OPERATION)
def cancel_request(
    studioId: Annotated[StudioId, Path(description="The studio the request was made in.")],
    requestId: Annotated[str, Path(description="The requestId of the 202 answer.")],
):
    arn = requests.require_state_machine_arn(os.environ.get("STATE_MACHINE_ARN", ""))
    identity = app.current_event.request_context.identity
    caller = identity.user_arn or identity.caller or identity.account_id or "anonymous"
    status = requests.cancel_request(studioId, requestId, caller, aws.step_functions, arn)
    logger.info("request cancelled", extra={"requestId": requestId, "studioId": studioId})
    return json_response(202, status.to_json())


def _stage_prefix() -> str:
    """The part of the URL before the API's paths (/v1 through the execute-api URL, '' locally)."""
    full = app.current_event.request_context.path or ""
    path = app.current_event.path
    return full[: -len(path)] if path and full.endswith(path) else ""


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with warnings.catch_warnings():
        # Most answers (reads, client errors) have no metric of their own: that is expected.
        warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)
        return _handle(event, context)


@lambda_entry(correlation_paths.API_GATEWAY_REST)
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
