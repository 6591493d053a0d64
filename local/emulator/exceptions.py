"""Typed errors of the Nimble Studio emulator.

Each class carries the wire identity of one error: ``code`` (the name that goes into the
``x-amzn-ErrorType`` header and the JSON body) and ``status`` (the HTTP status). The backend
raises them; the wire layer turns any :class:`NimbleError` into a response without knowing
which one it is.

The first seven are the errors of the service model. The last three exist only at the HTTP
level (an unknown path, a wrong method, an oversized body): the real service fronted these
with its gateway, so they are not in the model and botocore reports them by code only.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "MODELED_ERRORS",
    "AccessDeniedException",
    "ConflictException",
    "InternalServerErrorException",
    "MethodNotAllowedException",
    "NimbleError",
    "RequestEntityTooLargeException",
    "ResourceNotFoundException",
    "ServiceQuotaExceededException",
    "ThrottlingException",
    "UnknownOperationException",
    "UnrecognizedClientException",
    "ValidationException",
    "error_class",
    "from_pydantic",
    "validation_error",
]


class NimbleError(Exception):
    """Base of every error the emulator answers with; never raised itself.

    A subclass names its HTTP status in its header (``class X(NimbleError, status=404)``);
    its code is its class name, as in the service model.
    """

    code: str = "InternalServerErrorException"
    status: int = 500

    def __init_subclass__(cls, *, status: int, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = cls.__name__
        cls.status = status

    def __init__(self, message: str, context: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The model types context as map<string, string>; coerce so a stray int cannot
        # make botocore's parser choke on the body.
        self.context: dict[str, str] = {str(k): str(v) for k, v in (context or {}).items()}

    def to_body(self) -> dict[str, object]:
        """The JSON error body of the rest-json protocol (``context`` only when non-empty)."""
        body: dict[str, object] = {"message": self.message, "code": self.code}
        if self.context:
            body["context"] = dict(self.context)
        return body

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, context={self.context!r})"


class ValidationException(NimbleError, status=400):
    """A member is missing, of the wrong type, or outside its constraints."""


class ServiceQuotaExceededException(NimbleError, status=402):
    """The owner already has as many live sessions as the quota allows."""


class AccessDeniedException(NimbleError, status=403):
    """The request is not signed."""


class ResourceNotFoundException(NimbleError, status=404):
    """No studio, launch profile, streaming image, session or fault by that id."""


class ConflictException(NimbleError, status=409):
    """A client token reused with other parameters, or another operation in progress."""


class ThrottlingException(NimbleError, status=429):
    """Too many requests: an operation's rate limit (local.emulator.ratelimit), or injected."""


class InternalServerErrorException(NimbleError, status=500):
    """The service failed (injected), or the emulator has a bug (``context.bug``)."""


class UnknownOperationException(NimbleError, status=404):
    """No operation lives at this path."""


class MethodNotAllowedException(NimbleError, status=405):
    """The path exists but not with this HTTP method."""


class RequestEntityTooLargeException(NimbleError, status=413):
    """The body is larger than the emulator accepts."""


class UnrecognizedClientException(NimbleError, status=403):
    """IAM enforcement is on and the request's access key is not one the emulator was given."""


#: The seven errors of the service model, by code; these are the ones faults can inject.
MODELED_ERRORS: dict[str, type[NimbleError]] = {
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


def error_class(code: str) -> type[NimbleError]:
    """The modeled error class named ``code``; ``KeyError`` for any other name."""
    return MODELED_ERRORS[code]


def validation_error(problems: list[tuple[str, str]]) -> ValidationException:
    """One ValidationException for several ``(field, problem)`` pairs, in the service's style.

    The message names every offending field, and ``context["fields"]`` lists them
    comma-separated so callers can act on them without parsing prose.
    """
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    details = "; ".join(f"{field}: {problem}" if field else problem for field, problem in problems)
    fields = ",".join(dict.fromkeys(field for field, _ in problems if field))
    context = {"fields": fields} if fields else {}
    return ValidationException(f"{count} validation {noun} detected: {details}", context)


def from_pydantic(exc: Exception, prefix: str = "") -> ValidationException:
    """Translate a pydantic ``ValidationError`` (duck-typed: ``.errors()``) into ours."""
    problems = []
    for item in exc.errors():  # type: ignore[attr-defined]
        location = ".".join(str(part) for part in item.get("loc", ()))
        field = f"{prefix}{location}" if location else prefix.rstrip(".")
        problems.append((field, str(item.get("msg", "invalid value"))))
    return validation_error(problems or [(prefix.rstrip("."), str(exc))])
