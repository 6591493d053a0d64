"""The HTTP API as plain functions: start a provisioning request, read its status.

A request *is* a Step Functions execution. Its name (the requestId) is derived from the
studio and the client token, and its input is the request serialized canonically, so Step
Functions itself keeps the promise "same studio + token + body -> one workflow":

- StartExecution with a new name starts the workflow;
- the same name with the same input while it runs returns that execution (no second one);
- the same name after it finished, or with another input, fails with ExecutionAlreadyExists:
  we then read the execution back and compare its input with ours: equal is a replay
  (same answer, 202), different is a conflicting reuse of the token (409).

Concurrent duplicates race inside Step Functions, which admits one execution per name; the
losers take one of the two paths above. Names are reusable 90 days after an execution
closed, so the guarantee holds for 90 days (the service's own idempotency window is shorter).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import uuid
from typing import Any, NoReturn

from botocore.exceptions import BotoCoreError, ClientError

from session_provisioning.jsontext import parse_json, parse_json_object
from session_provisioning.models.api import RequestAccepted, RequestError, RequestStatus
from session_provisioning.models.events import Cleanup
from session_provisioning.models.request import ProvisioningInput, SessionRequestBody

# Bodies larger than this are refused with 400 before they are parsed. A valid body is far
# smaller (ids, an instance type and tags); the limit keeps the execution input well under
# Step Functions' 256 KiB and a hostile body from costing parse time and memory.
MAX_BODY_BYTES = 64 * 1024

CLIENT_TOKEN_HEADER = "X-Amz-Client-Token"  # noqa: S105 - a header name

# requestId = "req-" + the first 32 base32 characters (160 bits) of
# SHA-256("nimble-session-request/v1\n" + JSON [studioId, clientToken]).
# - Deterministic: a replay of (studio, token) finds the same execution.
# - Unambiguous input: the JSON array separates the two strings ("a","bc" != "ab","c").
# - Collisions: 160 bits make one, among a trillion requests of one state machine, about
#   n^2 / 2^161 = 3e-25 likely; a collision would surface as a 409, never as a wrong session.
# - URL-safe and a valid execution name: lowercase a-z and 2-7 after the prefix, 36 chars
#   (Step Functions allows 1-80 of [A-Za-z0-9_-]).
REQUEST_ID_PREFIX = "req-"
_REQUEST_ID_DIGEST_CHARS = 32
_REQUEST_ID_NAMESPACE = b"nimble-session-request/v1\n"
REQUEST_ID_PATTERN = re.compile(rf"^{REQUEST_ID_PREFIX}[a-z2-7]{{{_REQUEST_ID_DIGEST_CHARS}}}$")

_STATE_MACHINE_ARN = re.compile(
    r"^arn:(?P<partition>[\w-]+):states:(?P<region>[\w-]+):(?P<account>\d{12}):stateMachine:(?P<name>[\w-]+)$"
)

_THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)


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


def validation_error(message: str, fields: list[str]) -> ApiError:
    return ApiError(400, "ValidationException", message, fields=fields)


def not_found(studio_id: str, request_id: str) -> ApiError:
    return ApiError(
        404, "ResourceNotFoundException", f"Request {request_id!r} was not found in studio {studio_id!r}."
    )


# --- identity and input -----------------------------------------------------------------------


def request_id_for(studio_id: str, client_token: str) -> str:
    """The requestId (= execution name) of the request with this client token in this studio."""
    material = json.dumps([studio_id, client_token], ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(_REQUEST_ID_NAMESPACE + material.encode("utf-8")).digest()
    encoded = base64.b32encode(digest).decode("ascii").lower()
    return REQUEST_ID_PREFIX + encoded[:_REQUEST_ID_DIGEST_CHARS]


def is_request_id(value: str) -> bool:
    return REQUEST_ID_PATTERN.fullmatch(value) is not None


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no spaces, UTF-8 rather than escapes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def execution_input(studio_id: str, client_token: str, body: SessionRequestBody) -> str:
    """The execution input: only what the client sent, so the same request gives the same text."""
    provisioning = ProvisioningInput(studioId=studio_id, clientToken=client_token, request=body)
    return canonical_json(provisioning.model_dump(mode="json", by_alias=True, exclude_none=True))


def execution_arn(state_machine_arn: str, name: str) -> str:
    """arn:aws:states:region:account:stateMachine:sm -> arn:aws:states:region:account:execution:sm:name."""
    match = _STATE_MACHINE_ARN.fullmatch(state_machine_arn)
    if match is None:
        raise ValueError(f"not a state machine ARN: {state_machine_arn!r}")
    return (
        f"arn:{match['partition']}:states:{match['region']}:{match['account']}"
        f":execution:{match['name']}:{name}"
    )


def region_of(state_machine_arn: str) -> str:
    match = _STATE_MACHINE_ARN.fullmatch(state_machine_arn)
    if match is None:
        raise ValueError(f"not a state machine ARN: {state_machine_arn!r}")
    return match["region"]


# --- the body -----------------------------------------------------------------------------------


def parse_json_body(text: str) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong with it.

    Stricter than json.loads: at most MAX_BODY_BYTES, an object at the top level, no NaN or
    Infinity (not JSON), no duplicate member names (which one would count?), no unpaired
    surrogate escapes (not Unicode, so not forwardable to Step Functions or Nimble Studio).
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        raise validation_error(
            f"The request body is {size} bytes; at most {MAX_BODY_BYTES} bytes are accepted.", ["(body)"]
        )
    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_members)
    except _BodyError as error:
        raise validation_error(str(error), ["(body)"]) from None
    except ValueError as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        raise validation_error(f"The request body is not valid JSON: {reason}.", ["(body)"]) from None
    except RecursionError:
        raise validation_error("The request body is nested too deeply.", ["(body)"]) from None
    if not isinstance(value, dict):
        raise validation_error(
            f"The request body must be a JSON object, not {_json_type(value)}.", ["(body)"]
        )
    _require_unicode(value)
    return value


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
    strings: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, dict):
            strings.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    for text in strings:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise validation_error(
                "The request body contains an unpaired surrogate escape (not Unicode text).", ["(body)"]
            ) from None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array"


# --- the two operations -------------------------------------------------------------------------


def start_request(
    studio_id: str,
    client_token: str | None,
    body: SessionRequestBody,
    sfn_client: Any,
    state_machine_arn: str,
) -> RequestAccepted:
    """POST /studios/{studioId}/streaming-sessions: start the workflow, or recognise a replay."""
    token = client_token if client_token is not None else str(uuid.uuid4())
    request_id = request_id_for(studio_id, token)
    our_input = execution_input(studio_id, token, body)
    try:
        sfn_client.start_execution(stateMachineArn=state_machine_arn, name=request_id, input=our_input)
    except ClientError as error:
        if _error_code(error) != "ExecutionAlreadyExists":
            _confirm_or_raise(error, sfn_client, state_machine_arn, request_id, our_input, token)
            return RequestAccepted(requestId=request_id, clientToken=token, studioId=studio_id)
        existing = _describe(sfn_client, execution_arn(state_machine_arn, request_id))
        if existing is None:
            # The name is taken but the execution cannot be read: Step Functions is catching up.
            raise ApiError(
                503, "ServiceUnavailableException", "The request could not be confirmed; retry it."
            ) from error
        if parse_json(existing.get("input")) != json.loads(our_input):
            raise ApiError(
                409,
                "ConflictException",
                f"The client token {token!r} was already used in studio {studio_id!r} "
                "for a different request; use a new token for a new request.",
            ) from error
    except BotoCoreError as error:
        _confirm_or_raise(error, sfn_client, state_machine_arn, request_id, our_input, token)
    return RequestAccepted(requestId=request_id, clientToken=token, studioId=studio_id)


def _confirm_or_raise(
    error: Exception, sfn_client: Any, state_machine_arn: str, request_id: str, our_input: str, token: str
) -> None:
    """After a failed StartExecution, tell "it did not start" from "we did not hear that it did".

    A timeout or a 5xx may come after Step Functions started the execution. If it exists with
    our input, the request was accepted. Otherwise the error stands, and it names the client
    token (generated or not), so that the client's retry is a replay, never a second request.
    """
    with contextlib.suppress(ApiError):  # could not tell: the original error stands
        existing = _describe(sfn_client, execution_arn(state_machine_arn, request_id))
        if existing is not None and parse_json(existing.get("input")) == json.loads(our_input):
            return
    try:
        _raise_service_error(error)
    except ApiError as answer:
        answer.headers.setdefault(CLIENT_TOKEN_HEADER, token)
        answer.message = f"{answer.message} Retry with {CLIENT_TOKEN_HEADER}: {token}."
        raise


def get_request_status(
    studio_id: str, request_id: str, sfn_client: Any, state_machine_arn: str
) -> RequestStatus:
    """GET /studios/{studioId}/streaming-sessions/requests/{requestId}: the execution, as a status."""
    if not is_request_id(request_id):
        raise not_found(studio_id, request_id)
    execution = _describe(sfn_client, execution_arn(state_machine_arn, request_id))
    if execution is None:
        raise not_found(studio_id, request_id)
    provisioning = parse_json_object(execution.get("input")) or {}
    if provisioning.get("studioId") != studio_id:
        # Another studio's request is none of this caller's business: same answer as unknown.
        raise not_found(studio_id, request_id)

    status = execution.get("status")
    common = {"requestId": request_id, "clientToken": provisioning.get("clientToken"), "studioId": studio_id}
    if status in ("RUNNING", "PENDING_REDRIVE"):
        return RequestStatus(status="IN_PROGRESS", **common)
    if status == "SUCCEEDED":
        detail = parse_json_object(execution.get("output")) or {}
        session = detail.get("session") if isinstance(detail.get("session"), dict) else None
        return RequestStatus(
            status="READY", sessionId=_session_id(detail, session), session=session, **common
        )
    if status == "FAILED":
        return _failed_status(execution, common)
    if status == "TIMED_OUT":
        error = RequestError(code="ExecutionTimedOut", message="The workflow ran past its time limit.")
        return RequestStatus(status="FAILED", error=error, **common)
    if status == "ABORTED":
        error = RequestError(code="ExecutionAborted", message="The workflow was stopped before it finished.")
        return RequestStatus(status="FAILED", error=error, **common)
    raise ApiError(500, "InternalServerErrorException", f"The request is in an unknown state: {status!r}.")


def _failed_status(execution: dict[str, Any], common: dict[str, Any]) -> RequestStatus:
    """The Fail state: Error is the failure code, Cause the JSON {"error", "sessionId"?, "cleanup"?}."""
    code = execution.get("error") or "ExecutionFailed"
    cause = parse_json_object(execution.get("cause"))
    raw_error = cause.get("error") if cause else None
    try:
        error = RequestError.model_validate(raw_error)
    except ValueError:
        # Not our Fail state (an ASL runtime error, say): the error name and cause as they are.
        message = execution.get("cause") or "The workflow failed."
        error = RequestError(code=code, message=message[:2048])
    cleanup = None
    session = None
    if cause:
        try:
            cleanup = Cleanup.model_validate(cause.get("cleanup")) if cause.get("cleanup") else None
        except ValueError:
            cleanup = None
        session = cause.get("session") if isinstance(cause.get("session"), dict) else None
    return RequestStatus(
        status="FAILED",
        sessionId=_session_id(cause or {}, session),
        session=session,
        error=error,
        cleanup=cleanup,
        **common,
    )


def _session_id(container: dict[str, Any], session: dict[str, Any] | None) -> str | None:
    value = container.get("sessionId") or (session or {}).get("sessionId")
    return value if isinstance(value, str) else None


# --- Step Functions -----------------------------------------------------------------------------


def _describe(sfn_client: Any, arn: str) -> dict[str, Any] | None:
    """DescribeExecution, or None when there is no such execution."""
    try:
        return sfn_client.describe_execution(executionArn=arn)
    except ClientError as error:
        if _error_code(error) in ("ExecutionDoesNotExist", "InvalidArn"):
            return None
        _raise_service_error(error)
    except BotoCoreError as error:
        _raise_service_error(error)


def _raise_service_error(error: Exception) -> NoReturn:
    """A Step Functions failure as the API's answer; the cause stays attached for the log."""
    if isinstance(error, ClientError):
        code = _error_code(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if code in _THROTTLING_CODES or status == 429:
            raise ApiError(
                429,
                "ThrottlingException",
                "Too many requests right now; retry with backoff.",
                headers={"Retry-After": "1"},
            ) from error
        if code == "ExecutionLimitExceeded" or status >= 500:
            raise ApiError(
                503, "ServiceUnavailableException", "The workflow service is unavailable; retry later."
            ) from error
        # A 4xx about our own call (permissions, a missing state machine): our fault, not the client's.
        raise ApiError(
            500, "InternalServerErrorException", "The request could not be processed; it was logged."
        ) from error
    raise ApiError(
        503, "ServiceUnavailableException", "The workflow service did not answer; retry later."
    ) from error


def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")
