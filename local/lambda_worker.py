"""A Lambda execution environment: one function, one process, one event at a time.

Started by :mod:`local.lambda_runtime` as ``python -m local.lambda_worker RESPONSE_FD`` with the
function's own environment (nothing of the parent's but ``PATH``/locale/``PYTHON*``), it:

1. puts the function's code folder (``LAMBDA_TASK_ROOT``) first on ``sys.path``;
2. imports every module named in ``LOCAL_LAMBDA_PRELOAD`` (comma-separated), in order. This is
   the local stand-in for Lambda's ``AWS_LAMBDA_EXEC_WRAPPER``: code that runs in the execution
   environment before the handler module is imported (tests use it to wrap a step's logic and
   inject faults; it may import the handler module itself and replace attributes of it);
3. imports the handler module (``_HANDLER``: ``module.function``), as the init phase does. A
   failure is reported on every invocation as ``Runtime.ImportModuleError``, like Lambda;
4. answers requests read from stdin, one JSON line each (``{"id", "requestId", "event"}``), by
   writing ``{"id", "payload", "failed"}`` lines to ``RESPONSE_FD`` (see
   :func:`local.lambda_invoke.call_handler`).

The handler's own output (Powertools' log lines, prints) goes to the inherited stdout/stderr,
as it would go to CloudWatch Logs; the protocol has a pipe of its own.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from local.lambda_invoke import call_handler
from local.plan import FunctionSpec

PRELOAD_VARIABLE = "LOCAL_LAMBDA_PRELOAD"


def _spec_from_environment() -> FunctionSpec:
    environ = os.environ
    return FunctionSpec(
        logical_id=environ["LOCAL_LAMBDA_LOGICAL_ID"],
        name=environ["AWS_LAMBDA_FUNCTION_NAME"],
        arn=environ["LOCAL_LAMBDA_FUNCTION_ARN"],
        handler=environ["_HANDLER"],
        code_dir=Path(environ["LAMBDA_TASK_ROOT"]),
        timeout=float(environ["LOCAL_LAMBDA_TIMEOUT"]),
        memory_size=int(environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]),
    )


def main(response_fd: int) -> int:
    spec = _spec_from_environment()
    sys.path.insert(0, str(spec.code_dir))
    for name in filter(None, os.environ.get(PRELOAD_VARIABLE, "").split(",")):
        importlib.import_module(name.strip())  # an error here ends the worker: the parent reports it
    handler: Any = None
    import_error: Exception | None = None
    try:
        handler = getattr(importlib.import_module(spec.module_name), spec.function_attribute)
    except Exception as error:
        import_error = error

    def load() -> Any:
        if import_error is not None:
            raise import_error
        return handler

    with os.fdopen(response_fd, "w", encoding="utf-8") as responses:
        responses.write(json.dumps({"ready": True}) + "\n")
        responses.flush()
        for line in sys.stdin:
            request = json.loads(line)
            payload, failed = call_handler(spec, load, request["event"], request.get("requestId"))
            responses.write(
                json.dumps({"id": request["id"], "payload": payload.decode(), "failed": failed}) + "\n"
            )
            responses.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
