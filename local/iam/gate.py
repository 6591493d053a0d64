"""Where AWS calls of the local stack are decided: the moto server and the ASL engine's calls.

* :class:`IamMotoServer` is moto's ThreadedMotoServer with :class:`IamMiddleware` in front of
  its WSGI app: the access key of the SigV4 ``Authorization`` header names the principal, the
  credential scope's service and ``X-Amz-Target`` (or a query request's ``Action``) the action,
  and :func:`resources_for` the resource ARNs from the JSON body. A refusal is the service's
  own: JSON ``AccessDeniedException`` (HTTP 400) for JSON protocols, XML ``AccessDenied`` (403)
  for query protocols; an unknown access key gets ``UnrecognizedClientException``.
* :class:`AslCallsHook` checks the calls moto's ASL engine makes in this process (Lambda
  ``Invoke``, ``events:PutEvents``) as the state machine's role. They are the calls signed with
  moto's engine key ``ak``; this process's other clients (the engine's, the tests') are the
  operator's and are not checked. A refusal is a ClientError ``AccessDeniedException``, which
  the ASL engine reports as ``Lambda.AccessDeniedException`` / ``EventBridge.``... failures.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qs

from local.iam.authority import AccessDenied, Authority, UnknownAccessKey
from local.template import PARTITION

__all__ = ["ASL_ENGINE_ACCESS_KEY", "AslCallsHook", "IamMiddleware", "IamMotoServer", "resources_for"]

#: The access key moto's ASL engine signs its service integrations' calls with.
ASL_ENGINE_ACCESS_KEY = "ak"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/")
_UNRECOGNIZED = "The security token included in the request is invalid."


def _bus_arn(region: str, account: str, name: str | None) -> str:
    name = name or "default"
    return name if name.startswith("arn:") else f"arn:{PARTITION}:events:{region}:{account}:event-bus/{name}"


def resources_for(service: str, operation: str, body: dict[str, Any], region: str, account: str) -> list[str]:
    """The resource ARNs IAM checks for one call (``*`` for operations we do not map)."""
    if service == "states":
        for member in ("executionArn", "stateMachineArn"):
            if isinstance(body.get(member), str):
                return [body[member]]
    if service == "events":
        if operation == "PutEvents":
            entries = body.get("Entries") or [{}]
            found = [_bus_arn(region, account, e.get("EventBusName")) for e in entries if isinstance(e, dict)]
            return list(dict.fromkeys(found))
        if "EventBusName" in body or operation in {"DescribeEventBus"}:
            return [_bus_arn(region, account, body.get("EventBusName") or body.get("Name"))]
    if service == "dynamodb" and isinstance(body.get("TableName"), str):
        name = body["TableName"]
        return [
            name if name.startswith("arn:") else f"arn:{PARTITION}:dynamodb:{region}:{account}:table/{name}"
        ]
    if service == "lambda" and isinstance(body.get("FunctionName"), str):
        name = body["FunctionName"]
        return [
            name if name.startswith("arn:") else f"arn:{PARTITION}:lambda:{region}:{account}:function:{name}"
        ]
    return ["*"]


class IamMiddleware:
    """WSGI middleware: every request decided by ``authority`` before moto sees it."""

    def __init__(self, app: Any, authority: Authority, region: str, account: str) -> None:
        self.app, self.authority, self.region, self.account = app, authority, region, account

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        found = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        if found is None:
            return self.app(environ, start_response)  # unsigned: moto's own answer
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        access_key, region, service = found.groups()
        target = environ.get("HTTP_X_AMZ_TARGET")
        json_protocol = target is not None
        if json_protocol:
            operation = target.rsplit(".", 1)[-1]
            try:
                members = json.loads(body or b"{}")
            except ValueError:
                members = {}
        else:
            form = parse_qs(body.decode("utf-8", "replace")) or parse_qs(environ.get("QUERY_STRING", ""))
            operation = (form.get("Action") or [""])[0]
            members = {key: values[0] for key, values in form.items()}
        if not operation:
            return self.app(environ, start_response)  # rest protocols: not mapped (none used here)
        resources = resources_for(
            service, operation, members if isinstance(members, dict) else {}, region, self.account
        )
        try:
            self.authority.authorize(access_key, [(f"{service}:{operation}", arn) for arn in resources])
        except UnknownAccessKey:
            return _refuse(start_response, json_protocol, "UnrecognizedClientException", _UNRECOGNIZED)
        except AccessDenied as denied:
            return _refuse(start_response, json_protocol, "AccessDeniedException", str(denied))
        return self.app(environ, start_response)


def _refuse(start_response: Any, json_protocol: bool, code: str, message: str) -> list[bytes]:
    request_id = str(uuid.uuid4())
    if json_protocol:
        payload = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-ErrorType", code)]
        status = "400 Bad Request"
    else:
        query_code = "AccessDenied" if code == "AccessDeniedException" else "InvalidClientTokenId"
        payload = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{query_code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
        status = "403 Forbidden"
    headers += [("Content-Length", str(len(payload))), ("x-amzn-RequestId", request_id)]
    start_response(status, headers)
    return [payload]


def iam_moto_server(authority: Authority, region: str, account: str) -> Any:
    """A ThreadedMotoServer on a free loopback port whose app is behind :class:`IamMiddleware`."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class IamMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = IamMiddleware(DomainDispatcherApplication(create_backend_app), authority, region, account)
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    return IamMotoServer(ip_address="127.0.0.1", port=0, verbose=False)


IamMotoServer = iam_moto_server

_HOOKED = ("before-call.lambda.Invoke", "before-call.eventbridge.PutEvents")
_UNIQUE_ID = "local-iam-asl-calls"


class AslCallsHook:
    """The ASL engine's calls on boto3's default session, checked as the state machine's role."""

    def __init__(self, authority: Authority, owner: str, region: str, account: str) -> None:
        self.principal = authority.by_owner[owner]
        self.authority, self.region, self.account = authority, region, account
        self._session: Any = None

    def install(self) -> None:
        import boto3

        session = boto3._get_default_session()
        if session is self._session:
            return
        for event in _HOOKED:
            session.events.register_first(event, self._check, unique_id=f"{_UNIQUE_ID}-{event}")
        self._session = session

    def remove(self) -> None:
        if self._session is not None:
            for event in _HOOKED:
                self._session.events.unregister(event, unique_id=f"{_UNIQUE_ID}-{event}")
            self._session = None

    def _check(self, model: Any, params: dict[str, Any], request_signer: Any = None, **_: Any) -> None:
        credentials = getattr(request_signer, "_credentials", None)
        if credentials is None or credentials.access_key != ASL_ENGINE_ACCESS_KEY:
            return None
        from botocore.exceptions import ClientError

        service = model.service_model.signing_name
        body = params.get("body")
        if service == "lambda":
            members = {"FunctionName": params.get("url_path", "").split("/functions/")[-1].split("/")[0]}
        else:
            members = json.loads(body) if isinstance(body, (bytes, str)) and body else {}
        from urllib.parse import unquote

        members = {key: unquote(value) if isinstance(value, str) else value for key, value in members.items()}
        resources = resources_for(service, model.name, members, self.region, self.account)
        requests = [
            (f"{service}:{'InvokeFunction' if service == 'lambda' else model.name}", r) for r in resources
        ]
        try:
            self.authority.authorize(self.principal.access_key_id, requests)
        except AccessDenied as denied:
            status = 403 if service == "lambda" else 400
            error = {"Code": "AccessDeniedException", "Message": str(denied)}
            metadata = {"HTTPStatusCode": status, "RequestId": str(uuid.uuid4()), "HTTPHeaders": {}}
            raise ClientError({"Error": error, "ResponseMetadata": metadata}, model.name) from None
        return None
