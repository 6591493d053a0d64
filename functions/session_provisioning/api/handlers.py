"""The resolver's exception handlers: whatever goes wrong in a route is answered as an ApiError."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.metrics import MetricUnit

from session_provisioning.api.body import is_json, unsupported_content_type
from session_provisioning.api.errors import (
    ApiError,
    allowed_methods_answer,
    from_domain,
    validation_answer,
)
from session_provisioning.logic.ready_by import ready_by_problem
from session_provisioning.logic.requests import RequestOperationError
from session_provisioning.models.request import normalised_ready_by
from session_provisioning.observability import logger, metrics


def register_error_handlers(
    app: APIGatewayRestResolver, route_methods: Mapping[str, tuple[str, ...]]
) -> None:
    """Answers every failure of `app`'s routes as `{"code", "message"[, "fields"]}`."""
    route_patterns = {
        re.compile("^" + re.sub(r"<\w+>", "[^/]+", rule) + "$"): m for rule, m in route_methods.items()
    }

    def content_type() -> str:
        return app.current_event.headers.get("content-type") or ""

    def answer(error: ApiError) -> Response:
        if error.status >= 500 or error.status == 429:
            cause = error.__cause__
            logger.error(
                "request failed",
                extra={"code": error.code, "status": error.status, "cause": repr(cause) if cause else None},
            )
            metrics.add_metric(name="ApiErrors", unit=MetricUnit.Count, value=1)
            metrics.add_metadata(key="errorCode", value=error.code)
        return error.response()

    @app.exception_handler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return answer(error)

    @app.exception_handler(RequestOperationError)
    def _refused(error: RequestOperationError) -> Response:
        mapped = from_domain(error)
        mapped.__cause__ = error.__cause__
        return answer(mapped)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(error: RequestValidationError) -> Response:
        if not is_json(content_type()):
            return answer(unsupported_content_type(content_type()))
        errors = list(error.errors())
        return answer(validation_answer(errors + ready_by_clock_errors(errors)))

    def ready_by_clock_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """readyBy's clock rule (in the future, at most 7 days ahead), which the create route checks
        only once the body is valid (after matching a replay). A body the model refuses is never a
        replay of an accepted request, whose body was valid, so the rule applies here too: one 400
        names every offending field."""
        if any(tuple(item.get("loc", ()))[:2] == ("body", "readyBy") for item in errors):
            return []
        try:
            body = app.current_event.json_body
        except (TypeError, ValueError):
            return []
        ready_by = body.get("readyBy") if isinstance(body, dict) else None
        if not isinstance(ready_by, str):
            return []
        try:
            problem = ready_by_problem(normalised_ready_by(ready_by), datetime.now(tz=UTC))
        except ValueError:
            return []
        return [{"loc": ("body", "readyBy"), "msg": problem}] if problem else []

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported_content_type(error: RequestUnsupportedContentType) -> Response:
        return answer(unsupported_content_type(content_type()))

    @app.exception_handler(ValueError)
    def _unparseable_body(error: ValueError) -> Response:
        # Powertools parses a multipart or form body before validation and raises ValueError on a
        # malformed one: the client's mistake (a body we do not take), not ours.
        if not is_json(content_type()):
            return answer(unsupported_content_type(content_type()))
        return _unexpected(error)

    @app.exception_handler(UnicodeDecodeError)
    def _not_utf8(error: UnicodeDecodeError) -> Response:
        # Only a base64-encoded body is decoded as UTF-8 on the way in.
        return answer(ApiError.validation("The request body is not UTF-8 text.", ["(body)"]))

    @app.not_found
    def _no_route(error: NotFoundError) -> Response:
        method, path = app.current_event.http_method.upper(), app.current_event.path
        allowed = sorted(
            {m for pattern, methods in route_patterns.items() if pattern.match(path) for m in methods}
        )
        return answer(allowed_methods_answer(method, path, allowed))

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response:
        logger.exception("unexpected error")
        return answer(ApiError.internal())
