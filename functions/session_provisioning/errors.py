"""Errors the workflow steps raise, named so that Step Functions' Retry and Catch can match them.

A Python exception raised in a Lambda task reaches Retry/Catch under its class name, so each
Nimble Studio error is re-raised as a class of exactly the service's exception name. The
message is a JSON object (code, message, httpStatus, retryable, step, ...): DescribeFailure
reads it back from the Catch's Cause to build the failure event without guessing.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError, IncompleteReadError

# Retried by the state machine (Retry blocks in the ASL list the same names; a test checks).
TRANSIENT_ERROR_CODES = frozenset(
    {"ThrottlingException", "InternalServerErrorException", "ConflictException", "NimbleConnectionError"}
)
# Faults of the platform the state machine retries; any other States.*/Lambda.* error (a
# permission, a missing function, a runtime error in the definition) will not pass by itself.
TRANSIENT_PLATFORM_ERRORS = frozenset(
    {
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        "Lambda.Unknown",
        "Sandbox.Timedout",
        "States.Timeout",
        "EventBridge.FailedEntry",
    }
)


class WorkflowError(Exception):
    """An error whose message carries the failure detail as JSON."""

    code: ClassVar[str] = "InternalError"

    def __init__(self, message: str, *, step: str, http_status: int | None = None, **extra: Any) -> None:
        self.detail: dict[str, Any] = {
            "code": self.code,
            "message": message,
            "step": step,
            "retryable": self.code in TRANSIENT_ERROR_CODES,
        }
        if http_status is not None:
            self.detail["httpStatus"] = http_status
        self.detail.update({key: value for key, value in extra.items() if value is not None})
        super().__init__(json.dumps(self.detail, separators=(",", ":")))


class NimbleApiError(WorkflowError):
    """A Nimble Studio error whose name is not one of the seven the service documents."""

    def __init__(self, message: str, *, step: str, code: str, http_status: int | None = None) -> None:
        self.code = code  # type: ignore[misc]  # the service's name, whatever it is
        super().__init__(message, step=step, http_status=http_status)


def _service_error(name: str) -> type[WorkflowError]:
    """The class raised for the service's exception `name`: Retry/Catch match it by that name."""
    return type(
        name, (WorkflowError,), {"code": name, "__module__": __name__, "__doc__": f"Nimble Studio's {name}."}
    )


# The seven errors every streaming-session operation can return.
ValidationException = _service_error("ValidationException")
ServiceQuotaExceededException = _service_error("ServiceQuotaExceededException")
AccessDeniedException = _service_error("AccessDeniedException")
ResourceNotFoundException = _service_error("ResourceNotFoundException")
ConflictException = _service_error("ConflictException")
ThrottlingException = _service_error("ThrottlingException")
InternalServerErrorException = _service_error("InternalServerErrorException")


class NimbleConnectionError(WorkflowError):
    """The endpoint did not answer, or not fully (refused, reset, timed out): worth a retry."""

    code = "NimbleConnectionError"


class NimbleClientError(WorkflowError):
    """The SDK refused to send the call (invalid parameters, no credentials): not transient."""

    code = "NimbleClientError"


class InvalidPollingPolicy(WorkflowError):
    code = "InvalidPollingPolicy"


_BY_CODE: dict[str, type[WorkflowError]] = {
    cls.code: cls
    for cls in (
        ValidationException,
        ServiceQuotaExceededException,
        AccessDeniedException,
        ResourceNotFoundException,
        ConflictException,
        ThrottlingException,
        InternalServerErrorException,
    )
}


def from_sdk_error(error: Exception, *, step: str) -> WorkflowError:
    """The WorkflowError to raise for an SDK exception from a Nimble Studio call.

    Transient by nature whatever the service called them: a 5xx or a 429 with a name outside
    the documented seven, and any transport failure (refused, reset, timed out, cut short), since
    the client makes one attempt only and the state machine's Retry is the only second chance.
    """
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "Unknown")
        message = error.response.get("Error", {}).get("Message") or str(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        cls = _BY_CODE.get(code)
        if cls is not None:
            return cls(message, step=step, http_status=status)
        if status == 429:
            return ThrottlingException(message, step=step, http_status=status, serviceCode=code)
        if isinstance(status, int) and status >= 500:
            return InternalServerErrorException(message, step=step, http_status=status, serviceCode=code)
        return NimbleApiError(message, step=step, code=code, http_status=status)
    if isinstance(error, ConnectionError | HTTPClientError | IncompleteReadError):
        return NimbleConnectionError(str(error), step=step)
    # Anything else botocore raises before sending (bad parameters, no credentials) is our
    # own fault: named, never retried.
    return NimbleClientError(f"{type(error).__name__}: {error}", step=step)
