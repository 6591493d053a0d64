"""The emulator's HTTP/1.1 server: bytes off the socket into a :class:`Request`, a
:class:`Reply` back onto it (what the request means is :mod:`local.emulator.app`'s business).

Keep-alive as botocore's pool expects, every reply with a Content-Length and an
``x-amzn-RequestId``. Any HTTP method reaches the router (so an unknown one is a JSON 404/405,
not the stock HTML 501). A body over 1 MiB is 413 ``RequestEntityTooLargeException``; a
chunked body, a bad Content-Length or a short body is 400 ``ValidationException``; protocol
errors (a bad request line, oversized headers) are JSON client errors too. With
``quiet=False`` each request is logged to stderr in one line.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from local.emulator.app import NimbleApp
from local.emulator.backend import NimbleBackend
from local.emulator.exceptions import NimbleError, RequestEntityTooLargeException, ValidationException
from local.emulator.protocol import Reply, Request
from local.serving import LocalHTTPServer

__all__ = ["MAX_BODY_BYTES", "EmulatorServer"]

#: Largest request body accepted; the service's own limits were far below this.
MAX_BODY_BYTES = 1024 * 1024
# Up to this size an oversized body is read and dropped so the client gets a clean 413 on a
# connection that stays usable; beyond it the connection is closed instead.
_DRAIN_LIMIT_BYTES = 16 * MAX_BODY_BYTES


class _RequestHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive, as botocore's pool expects; every reply has a length.
    protocol_version = "HTTP/1.1"
    server_version = "NimbleStudioEmulator/1.0"
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for the
    # client's delayed ACK (~40 ms per request on loopback).
    disable_nagle_algorithm = True
    # Idle keep-alive connections time out instead of holding a thread for ever.
    timeout = 120
    server: EmulatorServer

    def version_string(self) -> str:
        return self.server_version

    def __getattr__(self, name: str) -> Any:
        # Any method (GET, PATCH, FOO, ...) reaches the router, which answers unknown ones
        # with a JSON 404/405 instead of the stock HTML 501.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        started = time.monotonic()
        try:
            body = self._read_body()
        except NimbleError as error:
            reply = Reply.error(error)
        else:
            headers = {key.lower(): value for key, value in self.headers.items()}
            request = Request(self.command, self.path, headers, body)
            reply = self.server.app.handle(request)
        # Logged before replying, so a client that saw the reply can rely on the log line.
        self._log(reply, time.monotonic() - started)
        self._send(reply)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            raise ValidationException(
                "Chunked transfer encoding is not supported; send a Content-Length.", {"fields": "body"}
            )
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            return b""
        try:
            length = int(raw_length)
            if length < 0:
                raise ValueError(raw_length)
        except ValueError:
            self.close_connection = True
            raise ValidationException(
                f"Invalid Content-Length {raw_length!r}.", {"fields": "Content-Length"}
            ) from None
        if length > MAX_BODY_BYTES:
            if length <= _DRAIN_LIMIT_BYTES:
                self._discard(length)
            else:
                self.close_connection = True
            raise RequestEntityTooLargeException(
                f"The request body has {length} bytes; the limit is {MAX_BODY_BYTES}.",
                {"limit": str(MAX_BODY_BYTES)},
            )
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            raise ValidationException(
                "The request body ended before Content-Length bytes.", {"fields": "body"}
            )
        return body

    def _discard(self, length: int) -> None:
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 64 * 1024))
            if not chunk:
                self.close_connection = True
                return
            remaining -= len(chunk)

    def _send(self, reply: Reply) -> None:
        payload = json.dumps(reply.body, separators=(",", ":")).encode("utf-8")
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (bad request line, oversized headers) as JSON too."""
        # Every error http.server raises here is the client's doing (e.g. 505 for an
        # unsupported HTTP version); a client mistake must never look like a server fault.
        status = code if code < 500 else 400
        phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Bad Request"
        error_code = "ValidationException" if status == 400 else phrase.replace(" ", "").replace("-", "")
        body = {"message": message or phrase, "code": error_code}
        self.close_connection = True
        # An unparseable request line leaves the version at HTTP/0.9, whose replies carry no
        # status line or headers; nobody speaks 0.9, so answer in HTTP/1.1.
        self.request_version = self.protocol_version
        payload = json.dumps(body).encode("utf-8")
        try:
            self.send_response(status, message)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("x-amzn-ErrorType", error_code)
            self.send_header("Connection", "close")
            self.end_headers()
            if getattr(self, "command", None) != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # _log writes one line per request with more to say; the stock line is noise.
        return

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)

    def _log(self, reply: Reply, seconds: float) -> None:
        if self.server.quiet:
            return
        detail = reply.operation or ""
        if reply.status >= 400:
            code = reply.body.get("code", "")
            injected = " (injected)" if reply.body.get("context", {}).get("injected") else ""
            detail = f"{detail} {code}{injected}".strip()
        stamp = time.strftime("%H:%M:%S")
        line = f"{stamp} {self.command} {self.path} -> {reply.status} {detail} {seconds * 1000:.0f}ms\n"
        sys.stderr.write(line)


class EmulatorServer(LocalHTTPServer):
    """The HTTP server of :class:`NimbleApp`."""

    def __init__(self, address: tuple[str, int], backend: NimbleBackend, *, quiet: bool = True) -> None:
        self.app = NimbleApp(backend)
        self.quiet = quiet
        super().__init__(address, _RequestHandler)
