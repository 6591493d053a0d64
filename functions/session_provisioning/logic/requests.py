"""The HTTP API as plain functions: start a provisioning request, read its status, cancel it.

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
from datetime import UTC, datetime
from typing import Any, NoReturn

from botocore.exceptions import BotoCoreError, ClientError

from session_provisioning.jsontext import parse_json, parse_json_object
from session_provisioning.logic.outcome import (
    CANCELLED_CODE,
    cancel_cause,
    request_status,
)
from session_provisioning.logic.ready_by import ready_by_problem
from session_provisioning.logic.request_errors import (
    ClientTokenConflict,
    ReadyByOutOfRange,
    RequestNotCancellable,
    RequestNotFound,
    RequestOperationError,
    WorkflowFault,
    WorkflowThrottled,
    WorkflowUnavailable,
)
from session_provisioning.models.api import RequestAccepted, RequestStatus
from session_provisioning.models.request import ProvisioningInput, SessionRequestBody

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


def require_state_machine_arn(value: str) -> str:
    """The configured state machine ARN, or WorkflowFault when it is not one (a deployment error)."""
    if _STATE_MACHINE_ARN.fullmatch(value) is None:
        raise WorkflowFault("The API is not configured.")
    return value


# --- the three operations -------------------------------------------------------------------------


def start_request(
    studio_id: str,
    client_token: str | None,
    body: SessionRequestBody,
    sfn_client: Any,
    state_machine_arn: str,
    now: datetime | None = None,
) -> RequestAccepted:
    """POST /studios/{studioId}/streaming-sessions: start the workflow, or recognise a replay."""
    token = client_token if client_token is not None else str(uuid.uuid4())
    request_id = request_id_for(studio_id, token)
    our_input = execution_input(studio_id, token, body)
    problem = ready_by_problem(body.ready_by, now or datetime.now(tz=UTC))
    # A replay is matched first (and answered below, as always), even once its readyBy has passed.
    if problem and not _is_replay(sfn_client, execution_arn(state_machine_arn, request_id), our_input):
        raise ReadyByOutOfRange(f"readyBy: {problem}")
    try:
        sfn_client.start_execution(stateMachineArn=state_machine_arn, name=request_id, input=our_input)
    except ClientError as error:
        if _error_code(error) != "ExecutionAlreadyExists":
            _confirm_or_raise(error, sfn_client, state_machine_arn, request_id, our_input, token)
            return RequestAccepted(requestId=request_id, clientToken=token, studioId=studio_id)
        existing = _describe(sfn_client, execution_arn(state_machine_arn, request_id))
        if existing is None:
            # The name is taken but the execution cannot be read: Step Functions is catching up.
            raise WorkflowUnavailable("The request could not be confirmed; retry it.") from error
        if parse_json(existing.get("input")) != json.loads(our_input):
            raise ClientTokenConflict(
                f"The client token {token!r} was already used in studio {studio_id!r} "
                "for a different request; use a new token for a new request."
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
    with contextlib.suppress(RequestOperationError):  # could not tell: the original error stands
        if _is_replay(sfn_client, execution_arn(state_machine_arn, request_id), our_input):
            return
    try:
        _raise_service_error(error)
    except RequestOperationError as refusal:
        refusal.client_token = token
        raise


def get_request_status(
    studio_id: str, request_id: str, sfn_client: Any, state_machine_arn: str
) -> RequestStatus:
    """GET /studios/{studioId}/streaming-sessions/requests/{requestId}: the execution, as a status."""
    arn = execution_arn(state_machine_arn, request_id) if is_request_id(request_id) else ""
    execution = _describe(sfn_client, arn) if arn else None
    if execution is None or (parse_json_object(execution.get("input")) or {}).get("studioId") != studio_id:
        # Another studio's request is none of this caller's business: same answer as unknown.
        raise RequestNotFound(studio_id, request_id)
    status = request_status(
        execution, request_id=request_id, studio_id=studio_id, history=lambda: _history(sfn_client, arn)
    )
    if status is None:
        raise WorkflowFault(f"The request is in an unknown state: {execution.get('status')!r}.")
    return status


def cancel_request(
    studio_id: str,
    request_id: str,
    cancelled_by: str,
    sfn_client: Any,
    state_machine_arn: str,
    now: datetime | None = None,
) -> RequestStatus:
    """DELETE .../requests/{requestId}: stop the workflow; the reconciler deletes and announces.

    StopExecution (error RequestCancelled, cause: who and when) is atomic: no state runs after
    it. The status is read after the stop, so a request that was announced READY first (or
    already ended) is refused, and a repeated cancel finds it CANCELLED and stops nothing.
    """
    status = get_request_status(studio_id, request_id, sfn_client, state_machine_arn)
    if status.status in ("SCHEDULED", "IN_PROGRESS"):
        try:
            sfn_client.stop_execution(
                executionArn=execution_arn(state_machine_arn, request_id),
                error=CANCELLED_CODE,
                cause=cancel_cause(cancelled_by, now or datetime.now(tz=UTC)),
            )
        except (ClientError, BotoCoreError) as error:
            _raise_service_error(error)
        status = get_request_status(studio_id, request_id, sfn_client, state_machine_arn)
    if status.status == "READY":
        raise RequestNotCancellable(
            f"Request {request_id!r} is READY and can no longer be cancelled; release its session "
            f"{status.session_id!r} with Nimble Studio's DeleteStreamingSession."
        )
    if status.status != "CANCELLED":
        raise RequestNotCancellable(
            f"Request {request_id!r} already ended {status.status}; nothing to cancel."
        )
    return status


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


def _is_replay(sfn_client: Any, arn: str, our_input: str) -> bool:
    existing = _describe(sfn_client, arn)
    return existing is not None and parse_json(existing.get("input")) == json.loads(our_input)


def _history(sfn_client: Any, arn: str) -> list[dict[str, Any]]:
    try:
        pages = sfn_client.get_paginator("get_execution_history").paginate(executionArn=arn)
        return [event for page in pages for event in page["events"]]
    except (ClientError, BotoCoreError) as error:
        _raise_service_error(error)


def _raise_service_error(error: Exception) -> NoReturn:
    """A Step Functions failure as the API's answer; the cause stays attached for the log."""
    if isinstance(error, ClientError):
        code = _error_code(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if code in _THROTTLING_CODES or status == 429:
            raise WorkflowThrottled("Too many requests right now; retry with backoff.") from error
        if code == "ExecutionLimitExceeded" or status >= 500:
            raise WorkflowUnavailable("The workflow service is unavailable; retry later.") from error
        # A 4xx about our own call (permissions, a missing state machine): our fault, not the client's.
        raise WorkflowFault("The request could not be processed; it was logged.") from error
    raise WorkflowUnavailable("The workflow service did not answer; retry later.") from error


def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")
