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
from local.emulator.backend import NimbleBackend
from local.emulator.control import ControlEndpoint
from local.emulator.exceptions import InternalServerErrorException, MethodNotAllowedException, NimbleError
from local.emulator.protocol import Reply, Request, authenticate
from local.emulator.routing import resolve

__all__ = ["NimbleApp"]


class NimbleApp:
    """The emulator without sockets, so it can be tested without a server."""

    def __init__(self, backend: NimbleBackend) -> None:
        self.backend = backend
        self._api = SessionApi(backend)
        self._control = ControlEndpoint(backend)

    def handle(self, request: Request) -> Reply:
        operation: str | None = None
        try:
            control = self._control.owns(request.path)
            routes = self._control.routes if control else self._api.routes
            operation, handler, params = resolve(routes, request.method, request.path)
            if not control:
                params["caller"] = authenticate(request)
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
