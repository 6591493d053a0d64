"""Requests in, replies out: which handler answers, and every error as a wire reply.

Routing comes first (an unknown path is 404 even unsigned); API routes then need a SigV4
signature, control routes (``/_emulator/``) do not. Any :class:`NimbleError` becomes its
status, ``x-amzn-ErrorType`` and JSON body; anything else is an emulator bug, printed, and
answered 500 ``InternalServerErrorException`` with ``context.bug``.
"""

from __future__ import annotations

import sys
import traceback

from local.emulator.api import SessionApi
from local.emulator.authorization import authorize
from local.emulator.backend import NimbleBackend
from local.emulator.control import ControlEndpoint
from local.emulator.exceptions import InternalServerErrorException, MethodNotAllowedException, NimbleError
from local.emulator.protocol import Reply, Request, authenticate, json_object
from local.emulator.routing import resolve

__all__ = ["NimbleApp"]


class NimbleApp:
    """The emulator without sockets, so it can be tested without a server."""

    def __init__(self, backend: NimbleBackend) -> None:
        self.backend = backend
        self._api = SessionApi(backend)
        self._control = ControlEndpoint(backend)
        #: (principal ARN, action, resource, reason) of every IAM decision (enforcement on).
        self.decisions: list[tuple[str, str, str, str]] = []

    def _caller(self, request: Request, operation: str, params: dict[str, str]) -> str:
        """The access key id; with IAM configured, the allowed principal's ARN (or a 403)."""
        access_key = authenticate(request)
        config = self.backend.config
        if config.iam is None:
            return access_key
        try:
            body = json_object(request.body)
        except NimbleError:
            body = {}  # the operation refuses it (400) once the caller may call it
        return authorize(
            config.iam,
            access_key,
            operation,
            params,
            body,
            region=config.region,
            account=config.account_id,
            record=self.decisions,
        )

    def handle(self, request: Request) -> Reply:
        operation: str | None = None
        try:
            control = self._control.owns(request.path)
            routes = self._control.routes if control else self._api.routes
            operation, handler, params = resolve(routes, request.method, request.path)
            if not control:
                params["caller"] = self._caller(request, operation, params)
            reply = handler(request, params)
            reply.operation = operation
            return reply
        except NimbleError as error:
            reply = Reply.error(error, operation)
            if isinstance(error, MethodNotAllowedException):
                reply.headers["Allow"] = error.context.get("allow", "")
            return reply
        except Exception as exc:
            # A bug in the emulator, not the client's doing: say so loudly, answer 500.
            traceback.print_exc(file=sys.stderr)
            bug = InternalServerErrorException(
                f"Emulator bug while handling {request.method} {request.path}: {type(exc).__name__}: {exc}",
                {"bug": "true"},
            )
            return Reply.error(bug, operation)
