"""The scale scenario through moto's ASL engine: the real definition, many executions, one clock.

    PYTHONPATH=functions:. .venv/bin/python -m benchmarks.scale --engine --sessions 100 --out s.json

:mod:`benchmarks.scale` walks each execution's path by hand; here the state machine itself
runs: :class:`local.engine.LocalEngine` executes ``statemachine/provision_session.asl.json``
with the template's parameters and the handlers in this process (``runtime="in-process"``, as
the polling benchmark runs them), against the same emulator, call schedule and latency model.

The clock is :class:`~benchmarks.simclock.SimulatedClock`, which must know every thread that
can run. moto runs an execution in three nested threads: ``ExecutionWorker.start`` starts the
execution's, ``Program.eval`` starts one for the states and joins it, and every Task state
(``ExecutionState._evaluate_with_timeout``) starts one for its work and waits for it. Only the
first runs beside others; the other two only make their parent wait. :func:`simulated_executions`
starts the execution's thread on the clock (registered before it starts, ended when it ends)
and runs the two nested ones in their parent's thread. moto's ASL engine then sleeps only
through the polling benchmark's patches (:class:`benchmarks.polling.VirtualTime`: Wait states,
Retry intervals, state entry, Lambda invocation and Nimble call latency, PollSession's sleep).

Differences from moto's own threading, on purpose: a Task state's ``TimeoutSeconds`` and the
execution's (none of the definition's Tasks sets one; the execution's is 187 hours) are not
enforced, since a state runs to its end in its parent's thread.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

from benchmarks.polling import LATENCY, LatencyModel, VirtualTime
from benchmarks.scale import (
    PROVISIONING_RANGE_S,
    START,
    STUDIO,
    ScaleRun,
    _template_defaults,
    record_emulator,
)
from benchmarks.simclock import SimulatedClock

__all__ = ["run_scale_engine", "simulated_executions"]

READY_EVENT = "Streaming Session Ready"


class _InlineThread:
    """What moto's nested threads become: the target runs in the caller's thread at ``start``."""

    def __init__(self, target: Callable[..., Any], args: tuple[Any, ...] = (), **_: Any) -> None:
        self._target, self._args = target, args

    def start(self) -> None:
        self._target(*self._args)

    def join(self, timeout: float | None = None) -> None:
        return None  # it ended in start()

    def is_alive(self) -> bool:
        return False


@contextlib.contextmanager
def simulated_executions(clock: SimulatedClock) -> Iterator[None]:
    """moto's executions as threads of ``clock``'s run (class- and module-level, undone on exit)."""
    from moto.stepfunctions.parser.asl.component.program import program
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_events,
    )
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    undo: list[Callable[[], None]] = []

    def patch(owner: Any, name: str, value: Any) -> None:
        previous = getattr(owner, name)  # AttributeError: the patch point moved (moto upgrade)
        setattr(owner, name, value)
        undo.append(lambda: setattr(owner, name, previous))

    def start(worker: Any) -> None:
        # Called in the thread that made StartExecution (a thread of the run); the execution
        # goes on at the same virtual moment, once that thread waits.
        clock.spawn(worker._execution_logic, name="execution")

    clients: dict[tuple[str, str], Any] = {}

    def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # moto builds a boto3 client (TLS context included) for every Task; its arguments do
        # not depend on the Task (fixed keys, same config), so one per service serves them all.
        if (region, service) not in clients:
            clients[region, service] = boto_client_for(region, service, state_credentials)
        return clients[region, service]

    try:
        patch(ExecutionWorker, "start", start)
        patch(lambda_eval_utils, "boto_client_for", client_for)
        patch(state_task_service_events, "boto_client_for", client_for)
        patch(program, "threading", SimpleNamespace(Thread=_InlineThread))
        patch(execute_state, "Thread", _InlineThread)
        yield
    finally:
        while undo:
            undo.pop()()


def _peak_concurrency(intervals: list[tuple[str, float, float]]) -> int:
    """The most Lambda invocations running at one virtual moment (an end before a start at ties)."""
    moments = sorted([(start, 1) for _, start, _ in intervals] + [(end, -1) for _, _, end in intervals])
    peak = running = 0
    for _, change in moments:
        running += change
        peak = max(peak, running)
    return peak


def run_scale_engine(
    sessions: int,
    *,
    limited: bool,
    latency: LatencyModel = LATENCY,
    provisioning_range: tuple[float, float] = PROVISIONING_RANGE_S,
    events_timeout_s: float = 120.0,
    log: Callable[[str], None] | None = None,
) -> ScaleRun:
    """One morning through the ASL engine: ``sessions`` executions started within one second.

    ``log`` hears of every tenth of the sessions announced READY (a long run's progress).
    """
    from local.emulator import EmulatorConfig, start_emulator
    from local.engine import LocalEngine

    _, rates, _ = _template_defaults()
    run = ScaleRun(sessions=sessions, limited=limited, engine=True)
    clock = SimulatedClock(START)
    config = EmulatorConfig(
        provisioning_seconds=provisioning_range, seed=15, rate_limits={"enabled": limited}
    )
    tokens = [f"scale-{index:05d}" for index in range(sessions)]
    arns: dict[str, str] = {}
    started = time.perf_counter()
    with start_emulator(port=0, config=config) as emulator:
        emulator.backend.clock = clock.time
        overrides = {"NimbleEndpointUrl": emulator.url}
        if not limited:  # a rate of 0 leaves the operation unscheduled (the template's parameters)
            overrides |= {"NimbleCreateCallsPerSecond": "0", "NimbleGetCallsPerSecond": "0"}
        engine = LocalEngine(
            parameter_overrides=overrides,
            environment={
                "POWERTOOLS_LOG_LEVEL": "WARNING",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_TRACE_DISABLED": "true",
            },
            runtime="in-process",  # the clock reaches into the handlers' modules
        )
        with VirtualTime(clock, latency) as virtual, engine, virtual.attach(engine):
            _record_calls(engine, run, clock, _progress(log, sessions, clock, started))

            def drive() -> None:
                for index, token in enumerate(tokens):
                    # All within the same second, as requests with one readyBy leave their Wait together.
                    clock.sleep_until(START + index / sessions)
                    request = {"launchProfileId": "lp-local", "ownedBy": "artist@example.com"}
                    arns[token] = engine.start_execution(
                        {"studioId": STUDIO, "clientToken": token, "request": request}, name=token
                    )

            with simulated_executions(clock):
                clock.spawn(drive, "driver", at=START)
                clock.run()
            if clock.errors:
                raise RuntimeError(f"{len(clock.errors)} run threads crashed: {clock.errors[0]!r}")
            run.virtual_seconds = clock.elapsed()
            for token, arn in arns.items():
                described = engine.describe(arn)
                ready = described["status"] == "SUCCEEDED" and token in run.published
                # Else the execution's error (as the walked path reports the step's), or its status.
                run.outcomes[token] = "READY" if ready else described.get("error") or described["status"]
            run.ready_events = _ready_events(engine, len(run.published), events_timeout_s)
            run.peak_concurrency = _peak_concurrency(virtual.record.invocations)
        record_emulator(run, emulator)
        run.limits = emulator.backend.config.rate_limits.effective()  # type: ignore[attr-defined]
    run.rates = rates  # type: ignore[attr-defined]
    run.real_seconds = time.perf_counter() - started
    return run


def _progress(
    log: Callable[[str], None] | None, sessions: int, clock: SimulatedClock, started: float
) -> Callable[[int], None]:
    step = max(sessions // 10, 1)

    def announced(count: int) -> None:
        if log is not None and count % step == 0:
            real = time.perf_counter() - started
            log(f"{count}/{sessions} READY announced at {clock.elapsed():.0f} s virtual, {real:.0f} s real")

    return announced


def _record_calls(
    engine: Any, run: ScaleRun, clock: SimulatedClock, announced: Callable[[int], None]
) -> None:
    """Every Nimble call (after its modelled latency), failed invocation and Ready event put."""
    import sys

    import boto3

    invoke = engine._runtime.invoke

    def invoke_and_count_failures(spec: Any, event: Any) -> tuple[bytes, bool]:
        # Every error a function raised: all were retried when every execution ends READY
        # (reading each execution's history instead costs a quarter of the run's time).
        payload, failed = invoke(spec, event)
        if failed:
            run.retries[json.loads(payload).get("errorType", "?")] += 1
        return payload, failed

    engine._runtime.invoke = invoke_and_count_failures

    def on_nimble_call(model: Any, **_: Any) -> None:
        run.calls.append((model.name, clock.time()))

    clients = set()
    for spec in engine.functions.values():
        client = getattr(sys.modules.get(spec.module_name), "client", None)
        if client is not None and id(client) not in clients:
            clients.add(id(client))
            # After VirtualTime's handler, which spends the call's latency first.
            client.meta.events.register("before-call.nimble", on_nimble_call, unique_id="scale-nimble")

    def on_put_events(params: dict[str, Any], **_: Any) -> None:
        body = params.get("body")
        entries = json.loads(body).get("Entries", []) if isinstance(body, (str, bytes)) else []
        for entry in entries:
            if entry.get("DetailType") == READY_EVENT:
                detail = entry["Detail"]
                detail = json.loads(detail) if isinstance(detail, str) else detail
                run.published[detail["clientToken"]] = clock.time()
                announced(len(run.published))

    boto3._get_default_session().events.register(
        "before-call.events.PutEvents", on_put_events, unique_id="scale-put"
    )


def _ready_events(engine: Any, expected: int, timeout_s: float) -> dict[str, int]:
    """The Ready events delivered per client token, once the sink has them all (or ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while True:
        counts = Counter(
            event["detail"].get("clientToken")
            for event in engine.events()
            if event["detail-type"] == READY_EVENT
        )
        if sum(counts.values()) >= expected or time.monotonic() >= deadline:
            return dict(counts)
        time.sleep(0.1)
