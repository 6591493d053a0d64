"""A local API Gateway (REST API, Lambda proxy integration) in front of the API function.

    from local.api_gateway import serve_api

    api = serve_api(lambda event: engine.invoke("ApiFunction", event), port=3000)
    ...                       # http://127.0.0.1:3000/studios/studio-local/streaming-sessions
    api.stop()

Each HTTP request becomes the version 1.0 proxy event API Gateway sends (resource, path,
httpMethod, headers, multiValueHeaders, queryStringParameters,
multiValueQueryStringParameters, pathParameters, requestContext, body, isBase64Encoded), is
handed to ``invoke``, and the proxy response (statusCode, headers, multiValueHeaders, body,
isBase64Encoded) is written back.

The routes are the ``Api`` events of the function in ``template.yaml`` (``Path`` with
``{name}`` / ``{name+}`` parameters, ``Method`` or ``ANY``), so the local API has exactly the
deployed API's resources. Where API Gateway answers without calling the function, so does
this server:

* a path or method with no route: 403 ``{"code": "MISSING_AUTHENTICATION_TOKEN", "message":
  "Missing Authentication Token"}`` with
  ``x-amzn-ErrorType: MissingAuthenticationTokenException`` (what a REST API answers for an
  unknown resource or method, whatever its authorization);
* a body over 10 MiB (API Gateway's payload limit): 413 ``{"code": "REQUEST_TOO_LARGE", ...}``;
* the function failed, or returned something that is not a proxy response: 502
  ``{"code": "INTEGRATION_FAILURE", "message": "Internal server error"}``.

The bodies are the template's GatewayResponses (``{"code": responseType, "message": ...}``).

Differences from API Gateway, on purpose: no SigV4 check (deployed, ``ApiAuthType=AWS_IAM``
requires signed calls: see ``scripts/signed_request.py``), paths are served at the root
rather than under ``/{stage}`` (``requestContext.stage`` still names the template's stage, and
``requestContext.path`` equals ``path``), and a body that is not UTF-8 is passed base64-encoded
with ``isBase64Encoded: true`` (API Gateway would pass text unless binary media types are set),
so the function sees the bytes the client sent.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.api_routes import (
    DEFAULT_FUNCTION,
    DEFAULT_STAGE,
    Route,
    match_route,
    routes_from_template,
    stage_from_template,
)
from local.serving import LocalHTTPServer, ServingThread
from local.template import ACCOUNT_ID, DEFAULT_TEMPLATE, load_template

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "ApiGatewayServer",
    "Route",
    "RunningApi",
    "build_event",
    "match_route",
    "routes_from_template",
    "serve_api",
    "stage_from_template",
]

LOG = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit
API_ID = "local"

Invoke = Callable[[dict[str, Any]], dict[str, Any]]

_HOP_BY_HOP = frozenset({"connection", "content-length", "transfer-encoding", "keep-alive"})


# --- events -------------------------------------------------------------------------------------


def build_event(
    *,
    method: str,
    path: str,
    resource: str,
    path_parameters: Mapping[str, str] | None = None,
    headers: Iterable[tuple[str, str]] = (),
    query: Iterable[tuple[str, str]] = (),
    body: bytes | str | None = None,
    stage: str = DEFAULT_STAGE,
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event (payload format 1.0) for one request.

    ``headers`` and ``query`` are (name, value) pairs in the order received: the single-value
    maps keep the last value of each name, the multi-value maps all of them, like API Gateway.
    A bytes body that is not UTF-8 is passed base64-encoded (``isBase64Encoded: true``).
    """
    request_id = request_id or str(uuid.uuid4())
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        single_headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    single_query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        single_query[name] = value
        multi_query.setdefault(name, []).append(value)

    text: str | None
    encoded = False
    if body is None or body in (b"", ""):
        text = None
    elif isinstance(body, str):
        text = body
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode("ascii"), True

    now = datetime.now(UTC)
    lowered = {name.lower(): value for name, value in single_headers.items()}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": lowered.get("host", "127.0.0.1").split(".")[0],
            "extendedRequestId": request_id,
            "httpMethod": method.upper(),
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": source_ip,
                "user": None,
                "userAgent": lowered.get("user-agent"),
                "userArn": None,
            },
            "path": path,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "resourceId": API_ID,
            "resourcePath": resource,
            "stage": stage,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


# --- the server ---------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: ApiGatewayServer
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length

    def version_string(self) -> str:
        return "local-api-gateway"

    def _handle(self) -> None:
        started = time.monotonic()
        method = self.command.upper()
        request_id = str(uuid.uuid4())
        split = urlsplit(self.path)
        path = unquote(split.path) or "/"
        try:
            body = self._read_body()
        except _TooLarge:
            self._send(
                413, {"code": "REQUEST_TOO_LARGE", "message": "Request Too Long"}, request_id=request_id
            )
            self.close_connection = True
            self._log(method, split.path, 413, started)
            return
        except ValueError:  # a Content-Length or chunk size that is not a number
            self._send(400, {"message": "Bad Request"}, request_id=request_id)
            self.close_connection = True
            self._log(method, split.path, 400, started)
            return
        matched = match_route(self.server.routes, method, path)
        if matched is None:
            self._send(
                403,
                {"code": "MISSING_AUTHENTICATION_TOKEN", "message": "Missing Authentication Token"},
                request_id=request_id,
                extra={"x-amzn-ErrorType": ["MissingAuthenticationTokenException"]},
            )
            self._log(method, split.path, 403, started)
            return
        route, path_parameters = matched
        event = build_event(
            method=method,
            path=path,
            resource=route.resource,
            path_parameters=path_parameters,
            headers=list(self.headers.items()),
            query=parse_qsl(split.query, keep_blank_values=True),
            body=body,
            stage=self.server.stage,
            source_ip=self.client_address[0],
            request_id=request_id,
        )
        try:
            response = self.server.invoke(event)
            status, headers, payload = _proxy_response(response)
        except Exception:
            LOG.exception("API function failed for %s %s", method, split.path)
            self._send(
                502,
                {"code": "INTEGRATION_FAILURE", "message": "Internal server error"},
                request_id=request_id,
            )
            self._log(method, split.path, 502, started)
            return
        self._write(status, headers, payload, request_id=request_id)
        self._log(method, split.path, status, started)

    # One method for every verb: the routes decide what exists, as in API Gateway.
    def __getattr__(self, name: str) -> Any:
        # Every method (TRACE, FOO, ...) is routed like API Gateway routes it, in JSON, rather
        # than answered with http.server's stock HTML 501.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            raise _TooLarge
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_PAYLOAD_BYTES:
                raise _TooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(
        self,
        status: int,
        body: dict[str, Any],
        *,
        request_id: str,
        extra: Mapping[str, list[str]] | None = None,
    ) -> None:
        headers = {"Content-Type": ["application/json"], **(extra or {})}
        self._write(status, headers, json.dumps(body).encode(), request_id=request_id)

    def _write(
        self, status: int, headers: Mapping[str, list[str]], payload: bytes, *, request_id: str
    ) -> None:
        self.send_response(status)
        for name, values in headers.items():
            if name.lower() in _HOP_BY_HOP:
                continue
            for value in values:
                self.send_header(name, value)
        self.send_header("x-amzn-RequestId", request_id)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command.upper() != "HEAD":
            self.wfile.write(payload)

    def _log(self, method: str, path: str, status: int, started: float) -> None:
        LOG.info("%s %s -> %s (%.0f ms)", method, path, status, (time.monotonic() - started) * 1000)

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug(format, *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # _log says it once, with the time taken


class _TooLarge(Exception):
    pass


def _proxy_response(response: Any) -> tuple[int, dict[str, list[str]], bytes]:
    """statusCode, merged headers and body bytes of a Lambda proxy response (ValueError if malformed)."""
    if not isinstance(response, Mapping):
        raise ValueError(f"the function returned {type(response).__name__}, not a proxy response")
    status = response.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    # API Gateway merges both maps; a name in multiValueHeaders wins over the same name in headers.
    merged: dict[str, list[str]] = {}
    multi = response.get("multiValueHeaders") or {}
    for name, values in multi.items():
        merged[name] = [str(value) for value in (values if isinstance(values, list) else [values])]
    lowered = {name.lower() for name in merged}
    for name, value in (response.get("headers") or {}).items():
        if name.lower() not in lowered:
            merged[name] = [str(value)]
    body = response.get("body")
    if body is None:
        payload = b""
    elif response.get("isBase64Encoded"):
        payload = base64.b64decode(body)
    else:
        payload = str(body).encode("utf-8")
    return status, merged, payload


class ApiGatewayServer(LocalHTTPServer):
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], invoke: Invoke, routes: list[Route], stage: str = DEFAULT_STAGE
    ) -> None:
        self.invoke = invoke
        self.routes = routes
        self.stage = stage
        super().__init__(address, _Handler)


class RunningApi(ServingThread):
    """A local API Gateway serving in a daemon thread; ``stop()`` (or leaving ``with``) ends it."""

    server: ApiGatewayServer

    def __init__(self, server: ApiGatewayServer) -> None:
        super().__init__(server, name="local-api-gateway", poll_interval=0.05)
        self.routes = server.routes


def serve_api(
    invoke: Invoke,
    port: int = 0,
    *,
    host: str = DEFAULT_HOST,
    template_path: str | Path = DEFAULT_TEMPLATE,
    function_logical_id: str = DEFAULT_FUNCTION,
) -> RunningApi:
    """Serve the template's API routes on ``host:port`` (0: a free port), calling ``invoke(event)``."""
    template = load_template(template_path)  # once, for the routes and the stage
    routes = routes_from_template(template, function_logical_id)
    running = RunningApi(ApiGatewayServer((host, port), invoke, routes, stage_from_template(template)))
    LOG.info(
        "API Gateway (local) on %s: %s", running.url, ", ".join(f"{r.method} {r.resource}" for r in routes)
    )
    return running
