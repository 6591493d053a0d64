"""Every change the local stack makes to moto's internals, in one place, for moto 5.2.5 only.

Each patch makes moto behave more like AWS (or, for :func:`virtual_clock`, run on a
benchmark's clock); none changes what a workflow does on AWS. They reach into moto's private
classes, so this module refuses any other moto version: when moto is upgraded, re-read each
patch point (named in its docstring) and then the version below.

* :func:`install_start_execution_shim` - StartExecution's name/input idempotency made atomic,
  and names checked like AWS (per backend instance: call it after every ``mock_aws`` start);
  it also installs the history semantics below:
* :func:`install_stop_execution_shim` - StopExecution ends the execution at once, ABORTED, with
  the given error and cause in ``ExecutionAborted`` and DescribeExecution, and nothing after;
* :func:`install_terminal_errors_patch` - ``States.ALL`` does not match ``States.Runtime`` or
  ``States.DataLimitExceeded``: they end the execution past every Retry and Catch;
* :func:`install_put_events_cause_shim` - ``EventBridge.FailedEntry``'s Cause as JSON text;
* :func:`install_parse_cache` - each definition parsed once, not per execution;
* :func:`virtual_clock` - Wait states, Retry intervals, state entry and every timestamp of
  the ASL engine on a given clock (the polling benchmark; class-level, undone on exit).
"""

from __future__ import annotations

import contextlib
import datetime as _datetime
import functools
import importlib
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any, Protocol

import moto

__all__ = [
    "EXECUTION_NAME",
    "MOTO_VERSION",
    "install_engine_patches",
    "install_parse_cache",
    "install_put_events_cause_shim",
    "install_start_execution_shim",
    "install_status_change_hook",
    "install_stop_execution_shim",
    "install_terminal_errors_patch",
    "install_timestamp_wait",
    "seconds_until_wake",
    "virtual_clock",
]

MOTO_VERSION = "5.2.5"
if moto.__version__ != MOTO_VERSION:  # pragma: no cover - a guard for upgrades
    raise ImportError(
        f"local.moto_patches was written for moto=={MOTO_VERSION}, not {moto.__version__}: "
        "re-check every patch point before changing the pin"
    )

# AWS: 1-80 characters, none of whitespace, < > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : / or
# control characters.
EXECUTION_NAME = re.compile(r"[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}")


def install_start_execution_shim(account_id: str, region: str) -> None:
    """Make moto's StartExecution behave like AWS Standard workflows under concurrency.

    moto (``StateMachine._handle_name_input_idempotency``) already returns the running
    execution for the same name and input, and raises ExecutionAlreadyExists for a different
    input or a closed execution, like AWS. But the check and the append of the new execution
    are not atomic: two concurrent StartExecution calls with one name can both start a
    workflow (same ARN, two executions), and a call that lands between the append and
    ``Execution.start()`` reads ``status`` of ``None`` and fails with AttributeError. The shim
    serialises StartExecution per name (different names never read each other's executions'
    status), and rejects names AWS rejects (InvalidName; moto does not validate them).

    It then installs :func:`install_stop_execution_shim` on the same backend and
    :func:`install_terminal_errors_patch`: the engine calls this function after every start.
    """
    from moto.stepfunctions.exceptions import InvalidName
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    from local.moto_hot_paths import NameLocks

    backend = stepfunctions_parser_backends[account_id][region]
    original = backend.start_execution
    locks = NameLocks()

    def start_execution(state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
        if name is None:
            name = str(uuid.uuid4())  # AWS generates one; moto would use "None"
        if not EXECUTION_NAME.fullmatch(name):
            raise InvalidName(f"Invalid Name: '{name}'")
        with locks.held(name):
            return original(state_machine_arn, name, *args, **kwargs)

    backend.start_execution = start_execution
    install_stop_execution_shim(account_id, region)
    install_terminal_errors_patch()


def install_stop_execution_shim(account_id: str, region: str) -> None:
    """StopExecution as AWS does it: ABORTED at once, with the caller's error and cause.

    moto differs in three ways: the response handler (``StepFunctionResponse.stop_execution``)
    drops ``error`` and ``cause``, so ``ExecutionAborted`` records empty strings and
    DescribeExecution none; the status stays RUNNING until the state in progress (a Lambda
    call, say) returns; and that state's events (``LambdaFunctionSucceeded``) are recorded after
    the stop, with ``ExecutionAborted`` last. Here the stop records ``ExecutionAborted`` and
    closes the history at once (the worker's later events are dropped), and the execution
    reads ABORTED with its stop date, error and cause from then on. The handler is patched
    once per process (it passes error and cause only to a backend that takes them); the backend
    method per backend instance.
    """
    from moto.core.responses import ActionResult
    from moto.stepfunctions.parser.api import ExecutionStatus, HistoryEventType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramRunning
    from moto.stepfunctions.parser.backend import execution as execution_module
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends
    from moto.stepfunctions.responses import StepFunctionResponse

    if not getattr(StepFunctionResponse, "_local_engine_stop", False):

        def respond(self: Any) -> Any:
            stop = self.stepfunction_backend.stop_execution
            arn = self._get_param("executionArn")
            if getattr(stop, "_local_engine_stop", False):
                execution = stop(arn, error=self._get_param("error"), cause=self._get_param("cause"))
            else:
                execution = stop(arn)
            return ActionResult({"stopDate": execution.stop_date})

        StepFunctionResponse.stop_execution = respond
        StepFunctionResponse._local_engine_stop = True

        communication = execution_module.BaseExecutionWorkerCommunication
        reflect = communication._reflect_execution_status

        def reflect_status(self: Any) -> None:
            stopped = getattr(self.execution, "_local_engine_stopped", None)
            reflect(self)
            self.execution._local_engine_worker_done = True  # its thread ran to the end
            if stopped is not None:  # keep what the stop recorded
                execution = self.execution
                execution.exec_status = ExecutionStatus.ABORTED
                execution.stop_date, execution.error, execution.cause = stopped

        communication._reflect_execution_status = reflect_status

    backend = stepfunctions_parser_backends[account_id][region]
    lock = threading.Lock()

    def stop_execution(execution_arn: str, error: str | None = None, cause: str | None = None) -> Any:
        execution = backend.describe_execution(execution_arn)
        env = _started_program(execution)
        with lock:
            running = env is not None and isinstance(env.program_state(), ProgramRunning)
            if not running or execution.exec_status != ExecutionStatus.RUNNING:
                return type(backend).stop_execution(backend, execution_arn)  # moto's own
            stop_date = _datetime.datetime.now(tz=_datetime.UTC)
            record = _close_history(env.event_manager)
            env.set_stop(stop_date=stop_date, cause=cause, error=error)
            record(
                context=EventHistoryContext(previous_event_id=0),
                event_type=HistoryEventType.ExecutionAborted,
                event_details=EventDetails(executionAbortedEventDetails={"error": error, "cause": cause}),
            )
            execution._local_engine_stopped = (stop_date, error, cause)
            execution.stop_date, execution.error, execution.cause = stop_date, error, cause
            execution.exec_status = ExecutionStatus.ABORTED
            return execution

    stop_execution._local_engine_stop = True  # type: ignore[attr-defined]
    backend.stop_execution = stop_execution


def _started_program(execution: Any, wait_s: float = 10.0) -> Any:
    """The execution's environment once its program has started (or None).

    moto starts the program in a thread after StartExecution returned; a stop that comes first
    would find no running program, and moto's own stop then lets every state run. On AWS an
    accepted execution is stoppable at once, so wait (briefly, bounded) for the program.
    """
    deadline = time.monotonic() + wait_s
    while True:
        env = getattr(getattr(execution, "exec_worker", None), "env", None)
        started = env is not None and env.program_state() is not None
        if started or time.monotonic() >= deadline or getattr(execution, "stop_date", None):
            return env
        time.sleep(0.005)


def _close_history(event_manager: Any) -> Callable[..., int]:
    """From now on ``event_manager`` drops events; returns its own ``add_event`` for the last one.

    A gate serialises the check with the recording, so no worker event lands after the last.
    """
    original = event_manager.add_event
    gate = threading.Lock()
    closed = False

    def add_event(*args: Any, **kwargs: Any) -> int:
        with gate:
            if closed:
                return 0
            return original(*args, **kwargs)

    def record_last(*args: Any, **kwargs: Any) -> int:
        nonlocal closed
        with gate:
            closed = True
            return original(*args, **kwargs)

    event_manager.add_event = add_event
    return record_last


def install_terminal_errors_patch() -> None:
    """``States.ALL`` matches neither ``States.Runtime`` nor ``States.DataLimitExceeded``, as on AWS.

    moto (``ErrorEqualsDecl._eval_body``) lets ``States.ALL`` match every error, so a Catch
    would route a runtime error in a Task's Parameters, or a state output over 256 KiB, to its
    handler; on AWS both end the execution (FAILED) past every Retry and Catch. Process-wide
    and idempotent.
    """
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )

    if getattr(ErrorEqualsDecl, "_local_engine_terminal", False):
        return
    terminal = {StatesErrorNameType.StatesRuntime, StatesErrorNameType.StatesStatesDataLimitExceeded}
    original = ErrorEqualsDecl._eval_body

    def eval_body(self: Any, env: Any) -> None:
        error_name = env.stack[-1]
        is_terminal = isinstance(error_name, StatesErrorName) and error_name.typ in terminal
        original(self, env)
        if is_terminal and ErrorEqualsDecl._STATE_ALL_ERROR in self.error_names:
            env.stack[-1] = False

    ErrorEqualsDecl._eval_body = eval_body
    ErrorEqualsDecl._local_engine_terminal = True


def install_parse_cache() -> None:
    """Parse each definition once, not on every StartExecution.

    moto (``AmazonStateLanguageParser.parse``) parses the definition with ANTLR for every
    execution (in its thread) and every DescribeStateMachine: ~100 ms of CPU each, which under
    a burst starves the API's thread of the GIL. The parsed program holds no per-execution
    state (that lives in each execution's Environment: stack, heap, context), so one parse
    serves all. Process-wide and idempotent.
    """
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    if getattr(AmazonStateLanguageParser, "_local_engine_cached", False):
        return
    parse = AmazonStateLanguageParser.__dict__["parse"].__func__
    AmazonStateLanguageParser.parse = staticmethod(functools.lru_cache(maxsize=16)(parse))
    AmazonStateLanguageParser._local_engine_cached = True


#: The clock Wait states with a Timestamp read (virtual_clock sets it); None: real UTC time.
_timestamp_clock: list[Any] = [None]


def seconds_until_wake(timestamp: str, now: float, *, exact: bool) -> float:
    """How long a Wait until ``timestamp`` lasts on AWS, which "truncates milliseconds" (the Wait
    state's documentation): until its whole second. ``exact`` (the virtual clock): that long;
    else whole seconds rounded up (moto's Wait counts them), never before AWS, < 1 s after."""
    until = math.floor(_datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp())
    return max(until - now, 0.0) if exact else max(math.ceil(until - now), 0)


def install_timestamp_wait() -> None:
    """A Wait with ``Timestamp``/``TimestampPath`` wakes when AWS's would (seconds_until_wake).
    moto compared the UTC timestamp with the machine's local time. Process-wide, idempotent."""
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp

    if getattr(Timestamp, "_local_engine_exact", False):
        return

    def wait_seconds(self: Any, env: Any) -> float:
        self.string.eval(env=env)
        text = env.stack.pop()
        if not isinstance(text, str) or not self._is_valid_timestamp_pattern(text):
            raise FailureEventException(self._create_failure_event(env, str(text)))
        clock = _timestamp_clock[0]
        if clock is not None:
            return seconds_until_wake(text, clock.time(), exact=True)
        return seconds_until_wake(text, time.time(), exact=False)

    Timestamp._get_wait_seconds = wait_seconds
    Timestamp._local_engine_exact = True


def install_engine_patches(account_id: str, region: str) -> None:
    """What every LocalEngine installs when it starts (each idempotent)."""
    install_start_execution_shim(account_id, region)
    install_put_events_cause_shim()
    install_parse_cache()
    install_timestamp_wait()


def install_put_events_cause_shim() -> None:
    """``EventBridge.FailedEntry``'s Cause as AWS gives it: the PutEvents response as JSON text.

    moto (``state_task_service_events.SfnFailedEntryCountException``) keeps the response as a
    dict, so the history shows its Python repr and a Catch's ResultPath receives
    ``{"Error": "EventBridge.FailedEntry", "Cause": {...}}``, where Step Functions always gives
    strings. Process-wide and idempotent: it only makes moto more like AWS.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_events as events_task,
    )

    exception = events_task.SfnFailedEntryCountException
    if getattr(exception, "_local_engine_json_cause", False):
        return
    original_init = exception.__init__

    def __init__(self: Any, cause: Any) -> None:
        original_init(self, cause)
        if not isinstance(cause, str):
            self.cause = json.dumps(cause, separators=(",", ":"), default=str)

    exception.__init__ = __init__
    exception._local_engine_json_cause = True


# --- a virtual clock for the ASL engine ---------------------------------------------------------


_status_change_hook_installed = False


def install_status_change_hook(report: Callable[[Any], None]) -> None:
    """Calls ``report(execution)`` when an execution starts (RUNNING) and when it ends.

    moto sends no "Execution Status Change" events; local.status_events builds them from these
    calls. Class-level and process-wide: installed once; ``report`` must never raise.
    """
    global _status_change_hook_installed
    if _status_change_hook_installed:
        return
    from moto.stepfunctions.parser.backend import execution as module

    original_start = module.Execution.start
    original_terminated = module.BaseExecutionWorkerCommunication.terminated

    def start(self: Any) -> None:
        original_start(self)
        report(self)  # exec_status is RUNNING once start() returns

    def terminated(self: Any) -> None:
        original_terminated(self)  # sets exec_status, stop_date, output, error, cause
        report(self.execution)

    module.Execution.start = start
    module.BaseExecutionWorkerCommunication.terminated = terminated
    _status_change_hook_installed = True


class Clock(Protocol):
    def time(self) -> float: ...
    def now(self) -> _datetime.datetime: ...
    def sleep(self, seconds: float) -> None: ...


def _datetime_module(clock: Clock) -> SimpleNamespace:
    """A stand-in for the ``datetime`` module whose ``datetime.now()`` reads ``clock``."""

    class VirtualDatetime(_datetime.datetime):
        @classmethod
        def now(cls, tz: _datetime.tzinfo | None = None) -> _datetime.datetime:  # type: ignore[override]
            moment = clock.now()
            return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)

    return SimpleNamespace(
        datetime=VirtualDatetime,
        timezone=_datetime.timezone,
        timedelta=_datetime.timedelta,
        date=_datetime.date,
        UTC=_datetime.UTC,
    )


@contextlib.contextmanager
def virtual_clock(clock: Clock, transition_s: float = 0.0) -> Iterator[None]:
    """moto's ASL engine on ``clock`` until exit (class-level patches, restored on exit).

    * ``WaitFunction._wait_interval``: a Wait state sleeps on the clock;
    * ``CommonStateField._eval_body``: entering a state costs ``transition_s`` on the clock;
    * ``EventManager._get_current_timestamp``: history timestamps read the clock;
    * ``retrier_decl.time``: Retry intervals sleep on the clock;
    * ``datetime`` in the parser's models, execution and state modules: execution start/stop
      dates and ``$$.State.EnteredTime`` / ``$$.Execution.StartTime`` read the clock.
    """
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager

    undo: list[Callable[[], None]] = []

    def patch(owner: Any, name: str, value: Any) -> None:
        missing = object()
        previous = owner.__dict__.get(name, missing) if isinstance(owner, type) else getattr(owner, name)
        if isinstance(owner, type) and previous is missing:
            raise RuntimeError(f"{owner.__name__}.{name} is gone: the patch point moved")
        setattr(owner, name, value)
        undo.append(lambda: setattr(owner, name, previous))

    def wait_interval(_self: Any, env: Any, wait_seconds: int) -> None:
        clock.sleep(max(float(wait_seconds), 0.0))

    original_eval_body = CommonStateField._eval_body

    def eval_body(_self: Any, env: Any) -> None:
        clock.sleep(transition_s)  # entering a state takes its own time
        original_eval_body(_self, env)

    try:
        patch(WaitFunction, "_wait_interval", wait_interval)
        patch(CommonStateField, "_eval_body", eval_body)
        patch(EventManager, "_get_current_timestamp", staticmethod(clock.now))
        patch(retrier_decl, "time", SimpleNamespace(sleep=clock.sleep, time=clock.time))
        install_timestamp_wait()
        _timestamp_clock[0] = clock
        undo.append(lambda: _timestamp_clock.__setitem__(0, None))
        shim = _datetime_module(clock)
        for module_name in (
            "moto.stepfunctions.parser.models",
            "moto.stepfunctions.parser.backend.execution",
            "moto.stepfunctions.parser.asl.component.state.state",
        ):
            patch(importlib.import_module(module_name), "datetime", shim)
        yield
    finally:
        while undo:
            undo.pop()()
