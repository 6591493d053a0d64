"""Lambda ``Invoke`` answered by the local runtime, for the template's functions.

moto's ASL engine calls Lambda through boto3's default session (see
``moto/stepfunctions/parser/asl/utils/boto_client.py``). :class:`LambdaInvokeHook` registers a
``before-call.lambda.Invoke`` handler on that session which maps the function name or ARN to
the template's function and answers with what the runtime returned, shaped as Lambda's
response: ``StatusCode``, ``ExecutedVersion``, the ``Payload`` stream and, when the handler
failed, ``FunctionError: Unhandled`` (payload ``errorMessage/errorType/stackTrace``). moto's
``StateTaskLambda`` takes ``errorType`` as the error name, so an exception class
``ThrottlingException`` matches ``"ErrorEquals": ["ThrottlingException"]``.

``Event`` invocations run in a thread of their own (202), ``DryRun`` answers 204; a function
the template does not define is left to moto's Lambda.
"""

from __future__ import annotations

import io
import json
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from local.plan import FunctionSpec

__all__ = ["LambdaInvokeHook"]

_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations")
_UNIQUE_ID = "local-engine-lambda-invoke"

#: (function, event) -> (payload, failed), or None when nothing can run it now.
Invoke = Callable[[FunctionSpec, Any], "tuple[bytes, bool] | None"]


class LambdaInvokeHook:
    def __init__(self, functions: Mapping[str, FunctionSpec], invoke: Invoke) -> None:
        self._by_name = {spec.name: spec for spec in functions.values()}
        self._invoke = invoke
        self._session: Any = None

    def install(self) -> None:
        """(Re-)register on boto3's current default session (``mock_aws`` replaces it)."""
        import boto3

        session = boto3._get_default_session()
        if session is self._session:
            return
        session.events.register("before-call.lambda.Invoke", self._on_invoke, unique_id=_UNIQUE_ID)
        self._session = session

    def remove(self) -> None:
        if self._session is not None:
            self._session.events.unregister("before-call.lambda.Invoke", unique_id=_UNIQUE_ID)
            self._session = None

    def function_for_name(self, name: str) -> FunctionSpec | None:
        """A function by name, ARN or partial ARN (``$LATEST`` qualifier allowed)."""
        if name.startswith("arn:"):
            parts = name.split(":")
            if len(parts) < 7 or parts[5] != "function":
                return None
            if len(parts) == 8 and parts[7] != "$LATEST":
                return None
            spec = self._by_name.get(parts[6])
            return spec if spec is not None and spec.arn == ":".join(parts[:7]) else None
        return self._by_name.get(name.split(":", 1)[0])

    def _on_invoke(self, params: dict[str, Any], **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse
        from botocore.response import StreamingBody

        match = _INVOKE_PATH.match(params.get("url_path", ""))
        spec = self.function_for_name(unquote(match.group("name"))) if match else None
        if spec is None:
            return None  # not ours: moto's Lambda answers
        body = params.get("body") or b"{}"
        if hasattr(body, "read"):
            body = body.read()
        event = json.loads(body)
        invocation_type = (params.get("headers") or {}).get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type == "Event":
            threading.Thread(target=self._invoke, args=(spec, event), daemon=True).start()
            status, payload, failed = 202, b"", False
        elif invocation_type == "DryRun":
            status, payload, failed = 204, b"", False
        else:
            result = self._invoke(spec, event)
            if result is None:
                return None  # the engine is stopping: moto's Lambda answers (not found)
            (payload, failed), status = result, 200
        headers = {"x-amz-executed-version": "$LATEST", "x-amzn-requestid": str(uuid.uuid4())}
        parsed: dict[str, Any] = {
            "StatusCode": status,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(payload), len(payload)),
            "ResponseMetadata": {
                "RequestId": headers["x-amzn-requestid"],
                "HTTPStatusCode": status,
                "HTTPHeaders": headers,
                "RetryAttempts": 0,
            },
        }
        if failed:
            parsed["FunctionError"] = "Unhandled"
        return AWSResponse(params.get("url", ""), status, headers, None), parsed
