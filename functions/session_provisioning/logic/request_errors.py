"""Why the API's operations on a request refuse or fail; the API answers each kind its own way
(api/errors.py). Raised by logic/requests.py, which re-exports them."""

from __future__ import annotations


class RequestOperationError(Exception):
    """Why a request could not be started or read; the API answers each kind in its own way.

    `client_token` is set when the request may have started all the same: a retry must send it.
    """

    def __init__(self, message: str, *, client_token: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.client_token = client_token


class RequestNotFound(RequestOperationError):
    def __init__(self, studio_id: str, request_id: str) -> None:
        super().__init__(f"Request {request_id!r} was not found in studio {studio_id!r}.")


class ClientTokenConflict(RequestOperationError):
    """The client token was used in this studio for a different request."""


class ReadyByOutOfRange(RequestOperationError):
    """A new request's readyBy is in the past or too far ahead (400 naming readyBy)."""

    fields = ("readyBy",)


class RequestNotCancellable(RequestOperationError):
    """The request already ended READY or FAILED: there is nothing left to cancel."""


class WorkflowThrottled(RequestOperationError):
    """Step Functions throttled the call: the client should retry with backoff."""


class WorkflowUnavailable(RequestOperationError):
    """Step Functions failed or did not answer: the client should retry later."""


class WorkflowFault(RequestOperationError):
    """Our side failed (a refused call, a missing state machine, an unknown status): not the client's fault."""
