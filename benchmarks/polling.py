"""Polling policy: cost and detection delay of the real state machine, on a virtual clock.

Every number comes from executing ``statemachine/provision_session.asl.json`` with the
template's parameters through :class:`local.engine.LocalEngine` (moto's ASL interpreter, the
real handlers) against the Nimble Studio emulator, one execution at a time. Nothing waits for
real: :class:`VirtualTime` turns

* every Wait state (moto ``WaitFunction._wait_interval``) and Retry interval into a clock advance,
* the emulator's ``backend.clock`` into the virtual clock (a session is READY exactly
  ``provisioning_seconds`` of virtual time after its CreateStreamingSession),
* PollSession's in-Lambda sleeps and ``now`` into the virtual clock (the step function's own
  ``sleep``/``now`` parameters (and its remaining time, when the handler passes one),
* the history's timestamps into virtual time,

and adds each step's own latency (:class:`LatencyModel`) so the delays are realistic.

What is counted per request: billable state transitions (``HistorySummary.billable_transitions``,
retries included), every Lambda invocation with its duration on the virtual clock (in-Lambda
sleeps included), the GetStreamingSession calls, and the detection delay: from the moment the
session became READY in the emulator to the moment PublishReady called PutEvents.
"""

from __future__ import annotations

import contextlib
import datetime as _datetime
import functools
import itertools
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from benchmarks.costs import LIST_PRICES, CostBreakdown, Invocation, Prices, request_cost
from benchmarks.stats import mean
from benchmarks.vclock import VirtualClock

__all__ = [
    "BASELINE",
    "GOAL_COST_RATIO",
    "GOAL_DELAY_S",
    "LATENCY",
    "RECOMMENDED",
    "SCENARIO_MINUTES",
    "LatencyModel",
    "Policy",
    "PolicyRun",
    "ScenarioRun",
    "VirtualTime",
    "compare",
    "run_policy",
    "run_polling_benchmark",
]

#: Provisioning times (CreateStreamingSession to READY) the policies are measured at. GPU
#: streaming sessions took minutes, not seconds (instance launch, image, domain join): we assume
#: 2 to 20 minutes, and that none is READY within the first minute.
SCENARIO_MINUTES: tuple[int, ...] = (2, 5, 10, 20)

STUDIO = "studio-local"
LAUNCH_PROFILE = "lp-local"
POLL_FUNCTION = "PollSessionFunction"
POLL_MODULE = "session_provisioning.handlers.poll_session"
RESERVE_MODULE = "session_provisioning.handlers.reserve_call_slots"
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations")


@dataclass(frozen=True)
class LatencyModel:
    """Virtual time each step spends on its own, besides Wait states and in-Lambda sleeps.

    * ``transition_s``: Step Functions' time to enter a state (scheduling, I/O of the state);
    * ``lambda_invoke_s``: one Lambda invocation's overhead (Invoke round trip and runtime),
      counted in the billed duration, which overstates Lambda's cost a little;
    * ``nimble_call_s``: one Nimble Studio API call from inside a Lambda (billed too).
    """

    transition_s: float = 0.05
    lambda_invoke_s: float = 0.10
    nimble_call_s: float = 0.05

    def to_json(self) -> dict[str, float]:
        return {
            "transition_s": self.transition_s,
            "lambda_invoke_s": self.lambda_invoke_s,
            "nimble_call_s": self.nimble_call_s,
        }


LATENCY = LatencyModel()


@dataclass(frozen=True)
class Policy:
    """The template's polling parameters (what a deployment sets)."""

    name: str
    initial_wait_s: int
    interval_s: int
    checks_per_poll: int
    budget_s: int = 1800

    def parameter_overrides(self) -> dict[str, str]:
        return {
            "PollInitialWaitSeconds": str(self.initial_wait_s),
            "PollIntervalSeconds": str(self.interval_s),
            "PollChecksPerInvocation": str(self.checks_per_poll),
            "PollBudgetSeconds": str(self.budget_s),
        }

    @property
    def label(self) -> str:
        return f"wait {self.initial_wait_s}s, every {self.interval_s}s, {self.checks_per_poll}/poll"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "PollInitialWaitSeconds": self.initial_wait_s,
            "PollIntervalSeconds": self.interval_s,
            "PollChecksPerInvocation": self.checks_per_poll,
            "PollBudgetSeconds": self.budget_s,
        }

    @classmethod
    def from_template(cls, name: str, parameters: dict[str, Any]) -> Policy:
        """The policy a template's parameter defaults describe."""

        def default(key: str) -> int:
            return int(float(parameters[key]["Default"]))

        return cls(
            name=name,
            initial_wait_s=default("PollInitialWaitSeconds"),
            interval_s=default("PollIntervalSeconds"),
            checks_per_poll=default("PollChecksPerInvocation"),
            budget_s=default("PollBudgetSeconds"),
        )


#: The SDK waiter StreamingSessionReady's cadence (GetStreamingSession every 10 s, 180 attempts)
#: as our own Wait/PollSession/Choice loop: a 10 s wait before the first check, then one check
#: per 10 s Wait, one check per PollSession invocation. (The SDK waiter checks once right away;
#: that check could never see a READY session.)
BASELINE = Policy("sdk-waiter-cadence", initial_wait_s=10, interval_s=10, checks_per_poll=1)

#: What the benchmark recommends as the template's defaults (see the README's Performance).
RECOMMENDED = Policy("recommended", initial_wait_s=60, interval_s=8, checks_per_poll=12)

#: The trade-off picture: these intervals x checks per invocation, at RECOMMENDED's initial wait.
SWEEP_INTERVALS: tuple[int, ...] = (5, 8, 10, 15)
SWEEP_CHECKS: tuple[int, ...] = (1, 3, 6, 12)

#: The goal: at most half the waiter's cost (mean over scenarios), READY announced within 10 s.
GOAL_COST_RATIO = 0.5
GOAL_DELAY_S = 10.0


# --- the virtual clock, wired into moto, the emulator and the handlers -----------------------


@dataclass
class _Recorder:
    """What the hooks saw, reset for every execution."""

    invocations: list[tuple[str, float, float]] = field(default_factory=list)  # (name, start, end)
    checks: list[float] = field(default_factory=list)  # GetStreamingSession arrival times
    puts: list[float] = field(default_factory=list)  # PutEvents call times

    def clear(self) -> None:
        self.invocations.clear()
        self.checks.clear()
        self.puts.clear()


class VirtualTime:
    """Context manager: moto's Wait states, Retry intervals and history timestamps on ``clock``.

    Class-level patches, restored on exit. :meth:`attach` then wires a started engine: Lambda
    invocation latency and duration, Nimble call latency and arrival times, PutEvents times,
    and PollSession's ``sleep``/``now``.
    """

    def __init__(self, clock: VirtualClock, latency: LatencyModel = LATENCY) -> None:
        self.clock = clock
        self.latency = latency
        self.record = _Recorder()
        self._lock = threading.Lock()

    # ----- moto -------------------------------------------------------------------------------

    def __enter__(self) -> VirtualTime:
        from local.moto_patches import virtual_clock

        self._moto = virtual_clock(self.clock, self.latency.transition_s)
        self._moto.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._moto.__exit__(None, None, None)

    # ----- a started engine ------------------------------------------------------------------

    @contextlib.contextmanager
    def attach(self, engine: Any) -> Iterator[None]:
        """Wire the engine's Lambda invocations, Nimble clients and PollSession to the clock."""
        import boto3

        clock, latency, record = self.clock, self.latency, self.record
        undo: list[Callable[[], None]] = []
        current = threading.local()  # the invocation running in this thread: its start

        def before_invoke(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            match = _INVOKE_PATH.match(params.get("url_path", ""))
            context["bench_function"] = _function_name(match.group("name")) if match else "?"
            context["bench_start"] = current.start = clock.time()
            clock.sleep(latency.lambda_invoke_s)

        def after_invoke(context: dict[str, Any], **_: Any) -> None:
            if "bench_start" in context:
                with self._lock:
                    record.invocations.append(
                        (context["bench_function"], context["bench_start"], clock.time())
                    )

        def before_put_events(**_: Any) -> None:
            with self._lock:
                record.puts.append(clock.time())

        session = boto3._get_default_session()
        session.events.register_first("before-call.lambda.Invoke", before_invoke, unique_id="bench-invoke")
        session.events.register("after-call.lambda.Invoke", after_invoke, unique_id="bench-invoked")
        session.events.register("before-call.events.PutEvents", before_put_events, unique_id="bench-put")
        undo.append(lambda: session.events.unregister("before-call.lambda.Invoke", unique_id="bench-invoke"))
        undo.append(lambda: session.events.unregister("after-call.lambda.Invoke", unique_id="bench-invoked"))
        undo.append(lambda: session.events.unregister("before-call.events.PutEvents", unique_id="bench-put"))

        def before_nimble_call(model: Any, **_: Any) -> None:
            clock.sleep(latency.nimble_call_s)
            if model.name == "GetStreamingSession":
                with self._lock:
                    record.checks.append(clock.time())

        for spec in engine.functions.values():
            module = sys.modules.get(spec.module_name)
            client = getattr(module, "client", None)
            events = getattr(getattr(client, "meta", None), "events", None)
            if events is not None:
                events.register("before-call.nimble", before_nimble_call, unique_id="bench-nimble")
                undo.append(
                    functools.partial(events.unregister, "before-call.nimble", unique_id="bench-nimble")
                )

        poll_module = sys.modules[POLL_MODULE]
        original = poll_module.poll_session
        poll_timeout = float(engine.functions[POLL_FUNCTION].timeout)

        def virtual_time_left() -> float:
            return poll_timeout - (clock.time() - getattr(current, "start", clock.time()))

        def poll_on_virtual_clock(*args: Any, **kwargs: Any) -> Any:
            # The step's own sleep/now parameters; the Lambda's remaining time too when the
            # handler passes one (its context counts real time).
            kwargs.update(sleep=clock.sleep, now=clock.now)
            if "time_left" in kwargs:
                kwargs["time_left"] = virtual_time_left
            return original(*args, **kwargs)

        poll_module.poll_session = poll_on_virtual_clock
        undo.append(lambda: setattr(poll_module, "poll_session", original))

        # ReserveCallSlots reserves from "now" too: the virtual now.
        reserve_module = sys.modules[RESERVE_MODULE]
        original_reserve = reserve_module.reserve_slots
        reserve_module.reserve_slots = functools.partial(original_reserve, now=clock.now)
        undo.append(lambda: setattr(reserve_module, "reserve_slots", original_reserve))
        try:
            yield
        finally:
            while undo:
                undo.pop()()


# --- runs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioRun:
    """One request, provisioned in ``provisioning_s``, under one policy."""

    provisioning_s: float
    status: str
    transitions: int
    retries: int
    polls: int
    checks: int
    invocations: tuple[Invocation, ...]
    max_invocation_s: float
    ready_events: int
    detection_delay_s: float
    worst_case_delay_s: float
    end_to_end_s: float
    prices: Prices = LIST_PRICES

    @property
    def cost(self) -> CostBreakdown:
        return request_cost(self.transitions, self.invocations, self.prices)

    def cost_with_memory(self, memory_mb: dict[str, int]) -> CostBreakdown:
        """The same run priced with other MemorySizes (durations do not depend on it here)."""
        priced = [
            Invocation(i.function, i.duration_s, memory_mb.get(i.function, i.memory_mb))
            for i in self.invocations
        ]
        return request_cost(self.transitions, priced, self.prices)

    @property
    def ok(self) -> bool:
        return self.status == "SUCCEEDED" and self.ready_events == 1 and self.retries == 0

    def to_json(self) -> dict[str, Any]:
        cost = self.cost
        by_function: dict[str, int] = {}
        for item in self.invocations:
            by_function[item.function] = by_function.get(item.function, 0) + 1
        return {
            "provisioning_minutes": round(self.provisioning_s / 60, 3),
            "status": self.status,
            "transitions": self.transitions,
            "retries": self.retries,
            "poll_invocations": self.polls,
            "get_streaming_session_calls": self.checks,
            "lambda_invocations": cost.invocations,
            "lambda_invocations_by_function": by_function,
            "lambda_gb_seconds": round(cost.gb_seconds, 4),
            "longest_invocation_s": round(self.max_invocation_s, 3),
            "cost_per_1000_sessions": cost.per_1000(),
            "detection_delay_s": round(self.detection_delay_s, 3),
            "worst_case_detection_delay_s": round(self.worst_case_delay_s, 3),
            "request_to_event_s": round(self.end_to_end_s, 3),
            "ready_events": self.ready_events,
        }


@dataclass(frozen=True)
class PolicyRun:
    policy: Policy
    memory_mb: dict[str, int]
    timeouts_s: dict[str, float]
    scenarios: tuple[ScenarioRun, ...]

    @property
    def max_detection_delay_s(self) -> float:
        return max(s.detection_delay_s for s in self.scenarios)

    @property
    def max_worst_case_delay_s(self) -> float:
        return max(s.worst_case_delay_s for s in self.scenarios)

    @property
    def longest_invocation_s(self) -> float:
        return max(s.max_invocation_s for s in self.scenarios)

    @property
    def ok(self) -> bool:
        poll_timeout = self.timeouts_s.get(POLL_FUNCTION, float("inf"))
        return all(s.ok for s in self.scenarios) and self.longest_invocation_s <= poll_timeout


def _function_name(path_part: str) -> str:
    """The function name in an Invoke path: a name, or an ARN (URL-encoded, maybe qualified)."""
    name = unquote(path_part)
    if name.startswith("arn:"):
        return name.split(":")[6]
    return name.split(":", 1)[0]


def _parse_time(text: str) -> float:
    return _datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _worst_case_delay(checks: Sequence[float], published: float, observed: float) -> float:
    """The longest delay any provisioning time in this run's range could have seen.

    A session that turned READY just after check i-1 is seen at check i and announced
    ``published - last check`` later: the longest gap between two checks plus that.
    """
    gaps = [later - earlier for earlier, later in itertools.pairwise(checks)]
    if not gaps:
        return observed
    return max(gaps) + (published - checks[-1])


def _execution_input(token: str) -> dict[str, Any]:
    return {
        "studioId": STUDIO,
        "clientToken": token,
        "request": {"launchProfileId": LAUNCH_PROFILE, "ownedBy": "bench@example.com"},
    }


def run_policy(
    policy: Policy,
    clock: VirtualClock,
    virtual: VirtualTime,
    emulator: Any,
    scenario_minutes: Sequence[float] = SCENARIO_MINUTES,
    *,
    prices: Prices = LIST_PRICES,
    real_timeout_s: float = 120,
) -> PolicyRun:
    """One engine with ``policy``; each scenario's request runs alone on the virtual clock."""
    from benchmarks.history import summarize_history
    from local.engine import LocalEngine

    engine = LocalEngine(
        parameter_overrides={**policy.parameter_overrides(), "NimbleEndpointUrl": emulator.url},
        environment={
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
        },
        # The virtual clock reaches into the handlers' modules: they must live in this process.
        runtime="in-process",
    )
    memory = {spec.name: spec.memory_size for spec in engine.functions.values()}
    timeouts = {spec.name: float(spec.timeout) for spec in engine.functions.values()}
    scenarios: list[ScenarioRun] = []
    with engine, virtual.attach(engine):
        for minutes in scenario_minutes:
            provisioning_s = float(minutes) * 60
            emulator.backend.configure({"provisioningSeconds": provisioning_s})
            token = f"bench-{policy.name}-{minutes}-{uuid.uuid4().hex[:8]}"
            virtual.record.clear()
            started = clock.time()
            arn = engine.start_execution(_execution_input(token), name=token)
            result = engine.wait(arn, timeout=real_timeout_s)
            summary = summarize_history(engine.history(arn))
            record = virtual.record
            session = next(s for s in emulator.backend.snapshot()["sessions"] if s["clientToken"] == token)
            ready_at = _parse_time(session["startedAt"]) if "startedAt" in session else float("nan")
            published = record.puts[-1] if record.puts else float("nan")
            delay = published - ready_at
            ready_events = sum(
                1
                for event in engine.events()
                if event["detail-type"] == "Streaming Session Ready"
                and event["detail"].get("clientToken") == token
            )
            invocations = tuple(
                Invocation(name, end - start, memory[name]) for name, start, end in record.invocations
            )
            scenarios.append(
                ScenarioRun(
                    provisioning_s=provisioning_s,
                    status=result["status"],
                    transitions=summary.billable_transitions,
                    retries=summary.total_retries,
                    polls=summary.polls,
                    checks=len(record.checks),
                    invocations=invocations,
                    max_invocation_s=max((i.duration_s for i in invocations), default=0.0),
                    ready_events=ready_events,
                    detection_delay_s=delay,
                    worst_case_delay_s=_worst_case_delay(record.checks, published, delay),
                    end_to_end_s=published - started,
                    prices=prices,
                )
            )
    return PolicyRun(policy=policy, memory_mb=memory, timeouts_s=timeouts, scenarios=tuple(scenarios))


# --- comparison -----------------------------------------------------------------------------


def _ratios(
    baseline: PolicyRun, candidate: PolicyRun, memory_mb: dict[str, int] | None = None
) -> list[float]:
    ratios = []
    for base, cand in zip(baseline.scenarios, candidate.scenarios, strict=True):
        cost = cand.cost_with_memory(memory_mb) if memory_mb else cand.cost
        ratios.append(cost.total_usd / base.cost.total_usd)
    return ratios


def goal_met(ratio: float, run: PolicyRun) -> bool:
    return ratio <= GOAL_COST_RATIO and run.max_detection_delay_s <= GOAL_DELAY_S and run.ok


def compare(baseline: PolicyRun, candidate: PolicyRun) -> dict[str, Any]:
    """Per-scenario rows and the summary numbers of ``candidate`` against ``baseline``."""
    ratios = _ratios(baseline, candidate)
    rows = [
        {
            "provisioning_minutes": round(cand.provisioning_s / 60, 3),
            "baseline": base.to_json(),
            "policy": cand.to_json(),
            "cost_ratio": round(ratio, 4),
        }
        for base, cand, ratio in zip(baseline.scenarios, candidate.scenarios, ratios, strict=True)
    ]
    total_ratio = sum(c.cost.total_usd for c in candidate.scenarios) / sum(
        b.cost.total_usd for b in baseline.scenarios
    )
    return {
        "cost_ratio_vs_waiter": round(mean(ratios), 4),
        "total_cost_ratio_vs_waiter": round(total_ratio, 4),
        "max_detection_delay_s": round(candidate.max_detection_delay_s, 3),
        "max_worst_case_detection_delay_s": round(candidate.max_worst_case_delay_s, 3),
        "longest_invocation_s": round(candidate.longest_invocation_s, 3),
        "all_ready_once_no_retries": candidate.ok,
        "goal_met": goal_met(mean(ratios), candidate),
        "scenarios": rows,
    }


def summary_point(baseline: PolicyRun, run: PolicyRun) -> dict[str, Any]:
    """One point of the trade-off picture."""
    ratio = mean(_ratios(baseline, run))
    return {
        **run.policy.to_json(),
        "cost_ratio_vs_waiter": round(ratio, 4),
        "mean_cost_per_1000_usd": round(mean(s.cost.total_usd * 1000 for s in run.scenarios), 4),
        "max_detection_delay_s": round(run.max_detection_delay_s, 3),
        "max_worst_case_detection_delay_s": round(run.max_worst_case_delay_s, 3),
        "longest_invocation_s": round(run.longest_invocation_s, 3),
        "goal_met": goal_met(ratio, run),
    }


def run_polling_benchmark(
    template_policy: Policy,
    *,
    recommended: Policy = RECOMMENDED,
    scenario_minutes: Sequence[float] = SCENARIO_MINUTES,
    sweep_intervals: Sequence[int] = SWEEP_INTERVALS,
    sweep_checks: Sequence[int] = SWEEP_CHECKS,
    latency: LatencyModel = LATENCY,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Baseline, template default, recommendation and the sweep; one engine at a time."""
    import contextlib as _contextlib
    import io
    import logging
    import warnings

    from local.emulator import EmulatorConfig, start_emulator

    logging.getLogger("moto").setLevel(logging.CRITICAL)  # it logs every caught failure
    clock = VirtualClock(start=float(int(time.time())))
    emulator = start_emulator(port=0, config=EmulatorConfig(provisioning_seconds=60))
    emulator.backend.clock = clock.time
    runs: dict[tuple[int, int, int, int], PolicyRun] = {}

    def run(policy: Policy) -> PolicyRun:
        key = (policy.initial_wait_s, policy.interval_s, policy.checks_per_poll, policy.budget_s)
        if key not in runs:
            started = time.perf_counter()
            # Powertools prints EMF blobs to stdout even with metrics disabled (every 100 values),
            # and warns about invocations without a metric.
            with _contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                runs[key] = run_policy(policy, clock, virtual, emulator, scenario_minutes)
            log(f"    {policy.name:<22} {policy.label:<34} {time.perf_counter() - started:5.1f} s real")
        return runs[key]

    try:
        with VirtualTime(clock, latency) as virtual:
            baseline = run(BASELINE)
            default = run(template_policy)
            best = run(recommended)
            sweep = [
                run(Policy(f"sweep-{interval}x{checks}", recommended.initial_wait_s, interval, checks))
                for checks in sweep_checks
                for interval in sweep_intervals
            ]
    finally:
        emulator.stop()

    poll_memory = best.memory_mb.get(POLL_FUNCTION, 0)
    what_if = {
        str(mb): round(mean(_ratios(baseline, best, {POLL_FUNCTION: mb})), 4)
        for mb in (128, 256, 512)
        if mb != poll_memory
    }
    recommended_block = {"policy": recommended.to_json(), **compare(baseline, best)}
    recommended_block["cost_ratio_if_poll_memory_mb"] = what_if
    return {
        "assumption": (
            "A session becomes READY 2, 5, 10 or 20 minutes after CreateStreamingSession (GPU "
            "instances take minutes); none is READY within the first minute."
        ),
        "method": (
            "Each policy is the template's own parameters; every scenario is one execution of the "
            "real ASL in moto (LocalEngine) with the real handlers against the emulator, on a virtual "
            "clock (Wait states, in-Lambda sleeps, emulator clock, history timestamps)."
        ),
        "latency_model": latency.to_json(),
        "prices": LIST_PRICES.to_json(),
        "memory_mb": baseline.memory_mb,
        "baseline": BASELINE.to_json(),
        "baseline_note": (
            "The SDK waiter StreamingSessionReady (10 s delay, 180 attempts) as our own "
            "Wait(10 s)/PollSession/Choice loop: PollInitialWaitSeconds=10, PollIntervalSeconds=10, "
            "PollChecksPerInvocation=1."
        ),
        "policy": template_policy.to_json(),
        **compare(baseline, default),
        "recommended": recommended_block,
        "tradeoff": [summary_point(baseline, r) for r in sweep],
        "tradeoff_markers": {
            "baseline": summary_point(baseline, baseline),
            "template_default": summary_point(baseline, default),
            "recommended": summary_point(baseline, best),
        },
    }
