"""A preload module (``LocalEngine(preload=("tests.local.probe",))``) that lets tests look inside
a Lambda worker: it wraps the function's handler so that an event ``{"probe": ...}`` is answered
by the probe and every other event goes to the real handler.

* ``{"probe": "state"}``: the worker's pid, ``os.environ``, and the ``client`` module global's
  endpoint (the Nimble client the handler module built at import), if it has one;
* ``{"probe": "sleep", "seconds": s}``: sleeps, then answers like ``state``;
* ``{"probe": "exit", "status": n}``: the worker process ends at once;
* ``{"probe": "raise", "type": "ThrottlingException"}``: raises an exception of that class name.
"""

from __future__ import annotations

import importlib
import os
import time
from typing import Any

_module_name, _attribute = os.environ["_HANDLER"].rsplit(".", 1)
try:
    _module: Any = importlib.import_module(_module_name)
except ImportError:  # the runtime reports it on every invocation
    _module = None


def _state() -> dict[str, Any]:
    client = getattr(_module, "client", None)
    endpoint = getattr(getattr(client, "meta", None), "endpoint_url", None)
    return {"pid": os.getpid(), "environ": dict(os.environ), "client_endpoint": endpoint}


def _wrap(handler: Any) -> Any:
    def probed(event: Any, context: Any) -> Any:
        if not (isinstance(event, dict) and "probe" in event):
            return handler(event, context)
        kind = event["probe"]
        if kind == "sleep":
            time.sleep(float(event["seconds"]))
        elif kind == "exit":
            os._exit(int(event.get("status", 3)))
        elif kind == "raise":
            raise type(str(event["type"]), (Exception,), {})("raised by the probe")
        return {**_state(), "remaining_ms": context.get_remaining_time_in_millis()}

    return probed


if _module is not None:
    setattr(_module, _attribute, _wrap(getattr(_module, _attribute)))
