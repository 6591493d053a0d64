"""Faults in our own steps, injected inside the Lambda workers (a preload module).

``LocalEngine(preload=("tests.workflow.own_faults",), environment={FAULTS_FILE_VARIABLE: path})``
makes every worker import this module before its handler. In the workers of the steps below,
it wraps the step's logic function (``create_session``, ``poll_session``, ...) so that it
consults a fault table shared by every worker and the test: a JSON file, read and written
under an exclusive ``flock``, so "raise once" means once across all workers of all functions.

The table (see :class:`FaultTable`): ``key_errors`` ("step|key" -> raises left, ``None``:
always), ``slow_creates`` (token -> how many first CreateSession calls sleep past the
function's Timeout after the real call), and the counters the test asserts on: ``raised``
("step|key" -> how many raised) and ``creates`` (token -> CreateSession calls).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

FAULTS_FILE_VARIABLE = "OWN_FAULTS_FILE"
SLOW_CREATE_SECONDS_VARIABLE = "OWN_FAULTS_SLOW_CREATE_SECONDS"
HANDLERS = "session_provisioning.handlers."


class FaultTable:
    """The shared fault file, seen from the test or from a worker."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = json.loads(self.path.read_text()) if self.path.exists() else {}
                for key in ("key_errors", "slow_creates", "raised", "creates"):
                    data.setdefault(key, {})
                yield data
                self.path.write_text(json.dumps(data))
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def arm(self, key_errors: dict[tuple[str, str], int | None], slow_creates: dict[str, int]) -> None:
        with self._locked() as data:
            data["key_errors"].update({f"{step}|{key}": left for (step, key), left in key_errors.items()})
            data["slow_creates"].update(slow_creates)

    def take_key_error(self, step: str, key: str) -> bool:
        with self._locked() as data:
            name = f"{step}|{key}"
            if name not in data["key_errors"]:
                return False
            left = data["key_errors"][name]
            if left is not None:
                if left == 0:
                    return False
                data["key_errors"][name] = left - 1
            data["raised"][name] = data["raised"].get(name, 0) + 1
            return True

    def count_create(self, token: str) -> bool:
        """Counts one CreateSession call; True when this one should run past the Timeout."""
        with self._locked() as data:
            data["creates"][token] = attempt = data["creates"].get(token, 0) + 1
            return attempt <= data["slow_creates"].get(token, 0)

    def raised(self) -> Counter[tuple[str, str]]:
        with self._locked() as data:
            return Counter({tuple(name.split("|", 1)): n for name, n in data["raised"].items()})

    def creates(self) -> Counter[str]:
        with self._locked() as data:
            return Counter(data["creates"])


def _raising(table: FaultTable, step: str, original: Callable[..., Any], key_of: Callable[..., str]) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if table.take_key_error(step, key_of(*args)):
            raise KeyError(f"injected bug in {step}")
        return original(*args, **kwargs)

    return wrapper


def _slow_create(table: FaultTable, original: Callable[..., Any], seconds: float) -> Any:
    def create_session(state: Any, client: Any) -> Any:
        created = original(state, client)
        if table.count_create(state.request.client_token):
            time.sleep(seconds)  # past the function's Timeout, after the real call went through
        return created

    return create_session


def _install() -> None:
    path = os.environ.get(FAULTS_FILE_VARIABLE)
    if not path:
        return
    table = FaultTable(path)
    handler_module = os.environ.get("_HANDLER", "").rsplit(".", 1)[0]

    def token_of_state(state: Any, *args: Any) -> str:
        return state.request.client_token

    def token_of_validate_event(event: Any, *args: Any) -> str:
        return (event.get("execution") or {}).get("clientToken")

    def request_of_describe_event(event: Any, *args: Any) -> str:
        return event.get("requestId")

    if handler_module == HANDLERS + "create_session":
        module = importlib.import_module(handler_module)
        slow = _slow_create(table, module.create_session, float(os.environ[SLOW_CREATE_SECONDS_VARIABLE]))
        module.create_session = _raising(table, "CreateSession", slow, token_of_state)
    elif handler_module == HANDLERS + "poll_session":
        module = importlib.import_module(handler_module)
        module.poll_session = _raising(table, "PollSession", module.poll_session, token_of_state)
    elif handler_module == HANDLERS + "validate_request":
        module = importlib.import_module(handler_module)
        module.validate_request = _raising(
            table, "ValidateRequest", module.validate_request, token_of_validate_event
        )
    elif handler_module == HANDLERS + "describe_failure":
        module = importlib.import_module(handler_module)
        module.describe_failure = _raising(
            table, "DescribeFailure", module.describe_failure, request_of_describe_event
        )


_install()
