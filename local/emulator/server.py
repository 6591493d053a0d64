"""The wire layer of the Nimble Studio emulator: rest-json over HTTP/1.1, plus ``/_emulator/``.

The emulator speaks the streaming-session operations of Nimble Studio (API 2020-08-01) the
way the service did, so an unmodified boto3 client built from a Nimble model talks to it:

=========================  ======  ==============================================================
operation                  method  path
=========================  ======  ==============================================================
CreateStreamingSession     POST    ``/2020-08-01/studios/{studioId}/streaming-sessions``
ListStreamingSessions      GET     ``/2020-08-01/studios/{studioId}/streaming-sessions``
GetStreamingSession        GET     ``/2020-08-01/studios/{studioId}/streaming-sessions/{sessionId}``
DeleteStreamingSession     DELETE  ``/2020-08-01/studios/{studioId}/streaming-sessions/{sessionId}``
StartStreamingSession      POST    ``/2020-08-01/studios/{studioId}/streaming-sessions/{sessionId}/start``
StopStreamingSession       POST    ``/2020-08-01/studios/{studioId}/streaming-sessions/{sessionId}/stop``
=========================  ======  ==============================================================

Routing comes first (an unknown path is 404 even unsigned); then a request needs a SigV4
``Authorization`` header (``AWS4-HMAC-SHA256 Credential=...``, else 403
``AccessDeniedException``). The signature is not checked; the access key id of the
credential becomes ``createdBy`` (``local-user`` when the header names none).
Errors come back as the service sent them: the error's HTTP status, header
``x-amzn-ErrorType: <Code>``, body ``{"message": ..., "code": ..., "context": {...}}``.
Beyond the seven modeled errors the HTTP layer uses three of its own: an unknown path is
404 ``UnknownOperationException``, a known path with the wrong method is 405
``MethodNotAllowedException`` (with an ``Allow`` header), a body over 1 MiB is 413
``RequestEntityTooLargeException``. Malformed JSON (``NaN`` and ``Infinity`` included: they are
not JSON), a non-object body, invalid UTF-8, wrong member types, non-finite numbers and
unknown body members are 400 ``ValidationException`` naming the field(s).

Control endpoint
================

Everything under ``/_emulator/`` steers the emulator; it needs no ``Authorization``. Bodies
are JSON objects; keys are camelCase (snake_case is accepted too). Examples assume the
default port::

    E=http://127.0.0.1:8081/_emulator

``GET  $E/health``
    ``{"status": "ok"}`` once the emulator serves requests.
``GET  $E/state``
    Sessions (each with ``studioId`` and the ``clientToken`` that created it), client tokens
    per studio → session ids, per-operation call counts, active faults with their
    ``remaining`` count and ``fired`` tally, the quota, and the settings. A call counts once
    it reaches its operation: signed, with a readable JSON body; calls answered with an
    injected error or a ValidationException of the operation count too.
``POST $E/faults``
    Add a fault rule (or a JSON array of rules); answers ``{"fault": {"id": "fault-1", ...}}``.
``GET  $E/faults`` / ``DELETE $E/faults`` / ``DELETE $E/faults/{id}``
    List, clear all, remove one.
``POST $E/quota``
    ``{"liveSessionsPerOwner": 2}``: at most 2 live sessions (any state but DELETED and
    CREATE_FAILED) per ``ownedBy``; one more is 402 ``ServiceQuotaExceededException``.
    ``null`` removes the limit.
``GET  $E/config`` / ``POST $E/config``
    Read or change settings: ``provisioningSeconds`` (number, or ``[min, max]`` for a random
    duration per session), ``deletionSeconds`` (also the duration of a stop),
    ``listPageSize``, ``seed``, ``region``, ``accountId``, ``studios``. New timings apply to
    transitions that begin afterwards. ``faults`` and ``liveSessionsPerOwner`` may be given
    here as well (added / set as above); this is also the body format of the
    ``NIMBLE_EMULATOR_CONFIG`` start-up variable.
``POST $E/reset``
    Forget sessions, client tokens, call counts, faults and the quota; keep the studios
    fixture and the settings.
``POST $E/sessions/{sessionId}/delete``
    Someone else deleted the session: it is ``DELETED`` at once.
``POST $E/sessions/{sessionId}/state``
    Force any state now, e.g. ``{"state": "START_FAILED", "statusCode": "INTERNAL_ERROR"}``
    (``statusCode``/``statusMessage`` optional).

A fault rule has exactly one of ``error`` and ``sessionOutcome``:

* ``{"operation": "CreateStreamingSession", "error": "ThrottlingException", "count": 2}``:
  the next two matching calls get that error with its real status (429) and change nothing.
  ``error`` is one of the seven modeled errors; ``operation`` is an operation name or
  ``"*"`` (default); ``message`` replaces the default message.
* ``{"sessionOutcome": "CREATE_FAILED", "statusCode": "INSUFFICIENT_CAPACITY"}``: the next
  session created goes CREATE_IN_PROGRESS → CREATE_FAILED (with that statusCode and a
  statusMessage) instead of READY. Without ``statusCode`` (or with ``"random": true``) a
  failure code is drawn from the model's list. ``{"sessionOutcome": "NEVER_READY"}``: it
  stays CREATE_IN_PROGRESS for ever (delete still works). ``START_FAILED``,
  ``STOP_FAILED`` and ``DELETE_FAILED`` end the start, stop or delete transition likewise.
* ``count`` (≥ 1): fire that many times, then the rule is gone; omitted: no limit.
  ``probability`` (0.0 to 1.0, default 1.0): chance that a matching call fires the rule.
* ``match``: fire only for requests with these attributes: ``ownedBy``, ``clientToken``,
  ``launchProfileId``, ``sessionId``, ``studioId``, ``createdBy``. Create matches the
  request (``ownedBy`` after defaulting to the caller); Get/Delete/Start/Stop match the
  stored session; List matches its ``ownedBy``/``createdBy`` query.

Examples::

    curl -s -X POST $E/faults -d '{"operation": "CreateStreamingSession",
        "error": "ThrottlingException", "count": 2}'
    curl -s -X POST $E/faults -d '{"operation": "*",
        "error": "InternalServerErrorException", "probability": 0.05}'
    curl -s -X POST $E/faults -d '{"sessionOutcome": "CREATE_FAILED",
        "statusCode": "INSUFFICIENT_CAPACITY", "match": {"ownedBy": "artist-7"}, "count": 1}'
    curl -s -X POST $E/faults -d '{"sessionOutcome": "NEVER_READY",
        "match": {"clientToken": "req-42"}}'
    curl -s -X POST $E/quota -d '{"liveSessionsPerOwner": 1}'
    curl -s -X POST $E/config -d '{"provisioningSeconds": [2, 6], "deletionSeconds": 1}'
    curl -s -X POST $E/sessions/session-0123456789abcdef0123/delete
    curl -s $E/state | python -m json.tool
    curl -s -X DELETE $E/faults
    curl -s -X POST $E/reset
"""

from __future__ import annotations

import json
import re
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from local.emulator.backend import EmulatorConfig, NimbleBackend
from local.emulator.exceptions import (
    AccessDeniedException,
    InternalServerErrorException,
    MethodNotAllowedException,
    NimbleError,
    RequestEntityTooLargeException,
    UnknownOperationException,
    ValidationException,
    validation_error,
)
from local.serving import LocalHTTPServer

__all__ = [
    "MAX_BODY_BYTES",
    "EmulatorServer",
    "NimbleApp",
    "Reply",
    "Request",
    "load_config",
]

API_PREFIX = "/2020-08-01"
CONTROL_PREFIX = "/_emulator"
#: Largest request body accepted; the service's own limits were far below this.
MAX_BODY_BYTES = 1024 * 1024
# Up to this size an oversized body is read and dropped so the client gets a clean 413 on a
# connection that stays usable; beyond it the connection is closed instead.
_DRAIN_LIMIT_BYTES = 16 * MAX_BODY_BYTES
_SIGV4_PREFIX = "AWS4-HMAC-SHA256"
_CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/")
_ANONYMOUS_CALLER = "local-user"

_BODY_MEMBERS: dict[str, frozenset[str]] = {
    "CreateStreamingSession": frozenset(
        {"ec2InstanceType", "launchProfileId", "ownedBy", "streamingImageId", "tags"}
    ),
    "StartStreamingSession": frozenset({"backupId"}),
    "StopStreamingSession": frozenset({"volumeRetentionMode"}),
}


@dataclass
class Request:
    """One HTTP request, already read off the socket."""

    method: str
    target: str
    headers: Mapping[str, str]  # keys lower-case
    body: bytes = b""
    path: str = field(init=False)
    query: dict[str, str] = field(init=False)  # first value of each parameter

    def __post_init__(self) -> None:
        parts = urlsplit(self.target)
        self.path = parts.path
        self.query = {key: values[0] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    operation: str | None = None

    @classmethod
    def error(cls, error: NimbleError, operation: str | None = None) -> Reply:
        return cls(error.status, error.to_body(), {"x-amzn-ErrorType": error.code}, operation)


Handler = Callable[[Request, dict[str, str]], Reply]


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    methods: Mapping[str, tuple[str, Handler]]


def _compile(template: str) -> re.Pattern[str]:
    """``/a/{x}/b`` → a regex with one named group per ``{name}``, each a single segment."""
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{regex}$")


def _resolve(routes: list[_Route], method: str, path: str) -> tuple[str, Handler, dict[str, str]]:
    for route in routes:
        found = route.pattern.match(path)
        if found is None:
            continue
        if method not in route.methods:
            allowed = ", ".join(sorted(route.methods))
            error = MethodNotAllowedException(
                f"{method} is not allowed on {path}; use {allowed}.", {"allow": allowed}
            )
            raise error
        name, handler = route.methods[method]
        params = {key: unquote(value) for key, value in found.groupdict().items()}
        return name, handler, params
    raise UnknownOperationException(f"No operation at {method} {path}.", {"path": path})


class NimbleApp:
    """Requests in, replies out; no sockets, so it can be tested without a server."""

    def __init__(self, backend: NimbleBackend) -> None:
        self.backend = backend
        session_path = f"{API_PREFIX}/studios/{{studioId}}/streaming-sessions"
        self._api_routes = [
            _Route(
                _compile(session_path),
                {
                    "POST": ("CreateStreamingSession", self._create),
                    "GET": ("ListStreamingSessions", self._list),
                },
            ),
            _Route(
                _compile(f"{session_path}/{{sessionId}}"),
                {
                    "GET": ("GetStreamingSession", self._get),
                    "DELETE": ("DeleteStreamingSession", self._delete),
                },
            ),
            _Route(
                _compile(f"{session_path}/{{sessionId}}/start"),
                {"POST": ("StartStreamingSession", self._start)},
            ),
            _Route(
                _compile(f"{session_path}/{{sessionId}}/stop"), {"POST": ("StopStreamingSession", self._stop)}
            ),
        ]
        control = CONTROL_PREFIX
        self._control_routes = [
            _Route(_compile(f"{control}/?"), {"GET": ("control:index", self._control_index)}),
            _Route(_compile(f"{control}/health"), {"GET": ("control:health", self._control_health)}),
            _Route(_compile(f"{control}/state"), {"GET": ("control:state", self._control_state)}),
            _Route(
                _compile(f"{control}/faults"),
                {
                    "GET": ("control:faults", self._control_list_faults),
                    "POST": ("control:add-fault", self._control_add_fault),
                    "DELETE": ("control:clear-faults", self._control_clear_faults),
                },
            ),
            _Route(
                _compile(f"{control}/faults/{{faultId}}"),
                {"DELETE": ("control:remove-fault", self._control_remove_fault)},
            ),
            _Route(_compile(f"{control}/quota"), {"POST": ("control:quota", self._control_quota)}),
            _Route(
                _compile(f"{control}/config"),
                {
                    "GET": ("control:config", self._control_get_config),
                    "POST": ("control:configure", self._control_configure),
                },
            ),
            _Route(_compile(f"{control}/reset"), {"POST": ("control:reset", self._control_reset)}),
            _Route(
                _compile(f"{control}/sessions/{{sessionId}}/delete"),
                {"POST": ("control:delete-session", self._control_delete_session)},
            ),
            _Route(
                _compile(f"{control}/sessions/{{sessionId}}/state"),
                {"POST": ("control:session-state", self._control_session_state)},
            ),
        ]

    def handle(self, request: Request) -> Reply:
        operation: str | None = None
        try:
            control = request.path == CONTROL_PREFIX or request.path.startswith(f"{CONTROL_PREFIX}/")
            routes = self._control_routes if control else self._api_routes
            operation, handler, params = _resolve(routes, request.method, request.path)
            if not control:
                params["caller"] = _authenticate(request)
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

    # ----- the API operations ------------------------------------------------------------

    def _create(self, request: Request, params: dict[str, str]) -> Reply:
        body = _json_members(request, "CreateStreamingSession")
        session = self.backend.create_streaming_session(
            params["studioId"],
            launch_profile_id=body.get("launchProfileId"),
            ec2_instance_type=body.get("ec2InstanceType"),
            owned_by=body.get("ownedBy"),
            streaming_image_id=body.get("streamingImageId"),
            tags=body.get("tags"),
            client_token=request.header("X-Amz-Client-Token"),
            caller=params["caller"],
        )
        return Reply(200, {"session": session})

    def _list(self, request: Request, params: dict[str, str]) -> Reply:
        query = request.query
        sessions, next_token = self.backend.list_streaming_sessions(
            params["studioId"],
            created_by=query.get("createdBy"),
            owned_by=query.get("ownedBy"),
            session_ids=query.get("sessionIds"),
            next_token=query.get("nextToken"),
            caller=params["caller"],
        )
        body: dict[str, Any] = {"sessions": sessions}
        if next_token is not None:
            body["nextToken"] = next_token
        return Reply(200, body)

    def _get(self, request: Request, params: dict[str, str]) -> Reply:
        session = self.backend.get_streaming_session(
            params["studioId"], params["sessionId"], caller=params["caller"]
        )
        return Reply(200, {"session": session})

    def _delete(self, request: Request, params: dict[str, str]) -> Reply:
        session = self.backend.delete_streaming_session(
            params["studioId"],
            params["sessionId"],
            client_token=request.header("X-Amz-Client-Token"),
            caller=params["caller"],
        )
        return Reply(200, {"session": session})

    def _start(self, request: Request, params: dict[str, str]) -> Reply:
        body = _json_members(request, "StartStreamingSession")
        session = self.backend.start_streaming_session(
            params["studioId"],
            params["sessionId"],
            backup_id=body.get("backupId"),
            client_token=request.header("X-Amz-Client-Token"),
            caller=params["caller"],
        )
        return Reply(200, {"session": session})

    def _stop(self, request: Request, params: dict[str, str]) -> Reply:
        body = _json_members(request, "StopStreamingSession")
        session = self.backend.stop_streaming_session(
            params["studioId"],
            params["sessionId"],
            volume_retention_mode=body.get("volumeRetentionMode"),
            client_token=request.header("X-Amz-Client-Token"),
            caller=params["caller"],
        )
        return Reply(200, {"session": session})

    # ----- the control endpoint ----------------------------------------------------------

    def _control_index(self, request: Request, params: dict[str, str]) -> Reply:
        endpoints = sorted(
            f"{method} {route.pattern.pattern.strip('^$')}"
            for route in self._control_routes
            for method in route.methods
        )
        return Reply(200, {"endpoints": endpoints})

    def _control_health(self, request: Request, params: dict[str, str]) -> Reply:
        return Reply(200, {"status": "ok"})

    def _control_state(self, request: Request, params: dict[str, str]) -> Reply:
        return Reply(200, self.backend.snapshot())

    def _control_list_faults(self, request: Request, params: dict[str, str]) -> Reply:
        return Reply(200, {"faults": self.backend.faults()})

    def _control_add_fault(self, request: Request, params: dict[str, str]) -> Reply:
        body = _json_value(request.body)
        if isinstance(body, list):
            return Reply(200, {"faults": self.backend.add_faults(body)})
        if not isinstance(body, dict):
            raise validation_error([("", "Body must be a fault rule (JSON object) or an array of them")])
        return Reply(200, {"fault": self.backend.add_fault(body)})

    def _control_clear_faults(self, request: Request, params: dict[str, str]) -> Reply:
        self.backend.clear_faults()
        return Reply(200, {"faults": []})

    def _control_remove_fault(self, request: Request, params: dict[str, str]) -> Reply:
        self.backend.remove_fault(params["faultId"])
        return Reply(200, {"removed": params["faultId"]})

    def _control_quota(self, request: Request, params: dict[str, str]) -> Reply:
        body = _json_object(request.body)
        unknown = sorted(set(body) - {"liveSessionsPerOwner"})
        if unknown:
            raise validation_error([(key, "unknown member") for key in unknown])
        if "liveSessionsPerOwner" not in body:
            raise validation_error([("liveSessionsPerOwner", "required (null removes the limit)")])
        self.backend.set_quota(body["liveSessionsPerOwner"])
        return Reply(200, {"quota": {"liveSessionsPerOwner": self.backend.quota}})

    def _control_get_config(self, request: Request, params: dict[str, str]) -> Reply:
        return Reply(200, {"config": self.backend.snapshot()["config"]})

    def _control_configure(self, request: Request, params: dict[str, str]) -> Reply:
        return Reply(200, {"config": self.backend.configure(_json_object(request.body))})

    def _control_reset(self, request: Request, params: dict[str, str]) -> Reply:
        self.backend.reset()
        return Reply(200, {"reset": True})

    def _control_delete_session(self, request: Request, params: dict[str, str]) -> Reply:
        return Reply(200, {"session": self.backend.force_delete(params["sessionId"])})

    def _control_session_state(self, request: Request, params: dict[str, str]) -> Reply:
        body = _json_object(request.body)
        unknown = sorted(set(body) - {"state", "statusCode", "statusMessage"})
        if unknown:
            raise validation_error([(key, "unknown member") for key in unknown])
        session = self.backend.force_state(
            params["sessionId"], body.get("state"), body.get("statusCode"), body.get("statusMessage")
        )
        return Reply(200, {"session": session})


# ----- request parsing ---------------------------------------------------------------------


def _authenticate(request: Request) -> str:
    """The caller's identity from a SigV4 Authorization header (signature not verified)."""
    authorization = request.header("Authorization") or ""
    if not authorization.startswith(_SIGV4_PREFIX):
        raise AccessDeniedException(
            "Missing SigV4 authentication: the request needs an 'Authorization: "
            f"{_SIGV4_PREFIX} Credential=...' header (any credentials will do).",
            {"reason": "unsigned"},
        )
    found = _CREDENTIAL_RE.search(authorization)
    return found.group(1) if found else _ANONYMOUS_CALLER


def _json_value(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationException(
            f"The request body is not valid UTF-8 (byte {exc.start}).", {"fields": "body"}
        ) from None
    try:
        return json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError) as exc:
        # RecursionError: absurdly deep nesting is a malformed request, not our failure.
        raise ValidationException(f"The request body is not valid JSON: {exc}", {"fields": "body"}) from None


def _not_json(name: str) -> Any:
    # Python's json module reads NaN, Infinity and -Infinity; JSON has no such values.
    raise ValueError(f"{name} is not a JSON value")


def _json_object(body: bytes) -> dict[str, Any]:
    value = _json_value(body)
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(value), "a number"
        )
        raise ValidationException(f"The request body must be a JSON object, not {kind}.", {"fields": "body"})
    return value


def _json_members(request: Request, operation: str) -> dict[str, Any]:
    """The body as an object holding only the operation's members (null = absent)."""
    body = _json_object(request.body)
    unknown = sorted(set(body) - _BODY_MEMBERS[operation])
    if unknown:
        raise validation_error([(name, f"Unknown member for {operation}") for name in unknown])
    return {key: value for key, value in body.items() if value is not None}


def load_config(source: str | None) -> EmulatorConfig:
    """A config from JSON text or from the path of a JSON file (empty/None: defaults).

    This is how ``NIMBLE_EMULATOR_CONFIG`` is read. Raises ValueError with a readable
    message when the file is missing or the content is not a valid configuration.
    """
    if source is None or not source.strip():
        return EmulatorConfig()
    text = source
    origin = "NIMBLE_EMULATOR_CONFIG"
    if not source.lstrip().startswith("{"):
        path = Path(source).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read emulator config file {str(path)!r}: {exc.strerror}") from None
        origin = str(path)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{origin} is not valid JSON: {exc}") from None
    try:
        return EmulatorConfig.parse(data)
    except NimbleError as exc:
        raise ValueError(f"{origin}: {exc.message}") from None


# ----- the HTTP server ---------------------------------------------------------------------


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
