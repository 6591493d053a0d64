"""Errors the workflow steps raise, named so that Step Functions' Retry and Catch can match them.

A Python exception raised in a Lambda task reaches Retry/Catch under its class name, so each
Nimble Studio error is re-raised as a class of exactly the service's exception name. The
message is a JSON object (code, message, httpStatus, retryable, step, ...): DescribeFailure
reads it back from the Catch's Cause to build the failure event without guessing.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

# Retried by the state machine (Retry blocks in the ASL list the same names).
TRANSIENT_ERROR_CODES = frozenset(
    {"ThrottlingException", "InternalServerErrorException", "ConflictException", "NimbleConnectionError"}
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


# The seven errors every streaming-session operation can return.
class ValidationException(WorkflowError):
    code = "ValidationException"


class ServiceQuotaExceededException(WorkflowError):
    code = "ServiceQuotaExceededException"


class AccessDeniedException(WorkflowError):
    code = "AccessDeniedException"


class ResourceNotFoundException(WorkflowError):
    code = "ResourceNotFoundException"


class ConflictException(WorkflowError):
    code = "ConflictException"


class ThrottlingException(WorkflowError):
    code = "ThrottlingException"


class InternalServerErrorException(WorkflowError):
    code = "InternalServerErrorException"


class NimbleConnectionError(WorkflowError):
    """The endpoint did not answer (connection refused, read timeout): worth a retry."""

    code = "NimbleConnectionError"


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
    """The WorkflowError to raise for an SDK exception from a Nimble Studio call."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "Unknown")
        message = error.response.get("Error", {}).get("Message") or str(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        cls = _BY_CODE.get(code)
        if cls is None:
            return NimbleApiError(message, step=step, code=code, http_status=status)
        return cls(message, step=step, http_status=status)
    if isinstance(error, ConnectionError | ReadTimeoutError):
        return NimbleConnectionError(str(error), step=step)
    raise TypeError(f"not an SDK error: {error!r}") from error
