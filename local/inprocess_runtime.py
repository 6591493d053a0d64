"""Lambda in the engine's own process: every function's handler called in the caller's thread.

For the polling benchmark only (``LocalEngine(runtime="in-process")``): its virtual clock has
to reach into the handlers' modules (PollSession's ``sleep``/``now``, the Nimble clients'
events), which live in this process. The engine's default is :mod:`local.lambda_runtime`.

Differences from Lambda, beyond the worker runtime's: all functions share one process and one
``os.environ``. Their variables are merged into it while the engine runs (a name set to two
different values is an error) and every handler module is (re)imported afterwards, so module
level clients are built with it (a cold start). Concurrent invocations run in parallel threads
(module globals are shared, as they would be within one warm container).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

from local.lambda_invoke import call_handler
from local.plan import FunctionSpec
from local.template import EngineError

__all__ = ["InProcessRuntime"]

LOG = logging.getLogger(__name__)


class InProcessRuntime:
    def __init__(
        self,
        functions: Mapping[str, FunctionSpec],
        environments: Mapping[str, Mapping[str, str]],
        **_: Any,
    ) -> None:
        self.functions = dict(functions)
        self.environment: dict[str, str] = {}
        owners: dict[str, str] = {}
        for logical_id, environment in environments.items():
            for key, value in environment.items():
                if key in owners and self.environment[key] != value:
                    raise EngineError(
                        f"{key} is {self.environment[key]!r} for {owners[key]} but {value!r} for "
                        f"{logical_id}: functions share one process in the in-process runtime"
                    )
                self.environment[key], owners[key] = value, logical_id
        self._saved_environ: dict[str, str | None] = {}
        self._added_sys_path: list[str] = []
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        for key, value in self.environment.items():
            self._saved_environ.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        for spec in self.functions.values():
            code_dir = str(spec.code_dir)
            if code_dir not in sys.path:
                sys.path.insert(0, code_dir)
                self._added_sys_path.append(code_dir)
        reloaded: set[str] = set()
        for spec in self.functions.values():
            try:
                self._handler_for(spec, reload=spec.module_name not in reloaded)
            except ModuleNotFoundError as error:
                # Reported at invocation, like Lambda's Runtime.ImportModuleError.
                LOG.warning("%s: cannot import %s (%s)", spec.logical_id, spec.module_name, error)
            reloaded.add(spec.module_name)

    def stop(self) -> None:
        for key, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_environ.clear()
        for path in self._added_sys_path:
            with contextlib.suppress(ValueError):
                sys.path.remove(path)
        self._added_sys_path.clear()

    def _handler_for(self, spec: FunctionSpec, *, reload: bool = False) -> Callable[..., Any]:
        with self._lock:
            if not reload and spec.logical_id in self._handlers:
                return self._handlers[spec.logical_id]
            module = sys.modules.get(spec.module_name)
            if module is not None and reload:
                module = importlib.reload(module)
            elif module is None:
                module = importlib.import_module(spec.module_name)
            handler = getattr(module, spec.function_attribute)
            self._handlers[spec.logical_id] = handler
            return handler

    def invoke(self, spec: FunctionSpec, event: Any) -> tuple[bytes, bool]:
        return call_handler(spec, lambda: self._handler_for(spec), event)
