"""One invocation, as AWS Lambda's Python runtime makes it: the context and the error payloads.

Shared by the worker processes (:mod:`local.lambda_worker`) and the in-process runtime
(:mod:`local.inprocess_runtime`). :func:`call_handler` returns ``(payload bytes, failed)``:
the handler's JSON response, or the payload Lambda returns with ``FunctionError: Unhandled``
(``errorMessage``, ``errorType`` - the exception's class name, which Step Functions' Retry and
Catch match - ``requestId``, ``stackTrace``), ``Runtime.ImportModuleError`` when the module
does not import, ``Runtime.MarshalError`` when the response is not JSON, and
``Sandbox.Timedout`` when the handler returned after the function's Timeout.
"""

from __future__ import annotations

import json
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from local.plan import FunctionSpec

__all__ = ["LambdaContext", "LambdaInvocationError", "call_handler", "error_payload", "timed_out_payload"]


class LambdaInvocationError(Exception):
    """:meth:`LocalEngine.invoke`: the handler failed; ``payload`` is what Lambda would return."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        super().__init__(f"{payload.get('errorType')}: {payload.get('errorMessage')}")


class LambdaContext:
    """What the Python runtime passes as ``context`` (the attributes handlers and Powertools read)."""

    def __init__(self, function: FunctionSpec, *, request_id: str | None = None) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        # The runtime reads it from AWS_LAMBDA_FUNCTION_MEMORY_SIZE: a string.
        self.memory_limit_in_mb = str(function.memory_size)
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self.timeout_seconds = function.timeout
        self._deadline = time.monotonic() + function.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


def error_payload(error: BaseException, request_id: str) -> dict[str, Any]:
    """The payload the Python runtime returns for an unhandled exception."""
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def timed_out_payload(timeout: float, request_id: str) -> dict[str, Any]:
    message = f"Task timed out after {timeout:.2f} seconds"
    return {"errorMessage": f"RequestId: {request_id} Error: {message}", "errorType": "Sandbox.Timedout"}


def call_handler(
    spec: FunctionSpec, load: Callable[[], Callable[..., Any]], event: Any, request_id: str | None = None
) -> tuple[bytes, bool]:
    """Calls the handler ``load()`` returns as the Lambda runtime would: (response payload, failed?)."""
    context = LambdaContext(spec, request_id=request_id)
    try:
        handler = load()
    except Exception as error:
        payload = error_payload(error, context.aws_request_id)
        payload["errorType"] = "Runtime.ImportModuleError"
        payload["errorMessage"] = f"Unable to import module '{spec.module_name}': {error}"
        return json.dumps(payload).encode(), True
    failure: dict[str, Any] | None = None
    try:
        body = json.dumps(handler(event, context)).encode()
    except Exception as error:
        failure = error_payload(error, context.aws_request_id)
        if isinstance(error, TypeError) and "JSON serializable" in str(error):
            failure["errorType"] = "Runtime.MarshalError"
    if context.get_remaining_time_in_millis() <= 0:
        # Lambda would have stopped the handler at its deadline, whatever it did next.
        failure = timed_out_payload(spec.timeout, context.aws_request_id)
    if failure is not None:
        return json.dumps(failure).encode(), True
    return body, False
