"""The studio's 9:00: 1,000 executions start provisioning in the same second, under rate limits.

    PYTHONPATH=functions:. .venv/bin/python -m benchmarks.scale --out scale.json [--sessions 1000]
    (make bench runs ``--only limited`` and ``--only unlimited`` side by side, then ``--combine``)

What is real: the step functions (``validate_request``, ``reserve_slots``, ``create_session``,
``poll_session``) with the template's default polling policy and call-schedule rates; the
account-wide call schedule in a DynamoDB table (moto), reserved with the real two-update
protocol; the Nimble Studio emulator over HTTP with its request-rate limits on (the project's
client, one attempt per call, so a throttle is the ThrottlingException the state machine sees).

What is modelled: the state machine's control flow. Each execution is a thread that walks
the definition's path (ValidateRequest, ScheduleOrStart, ReserveCallSlots, WaitForCreateSlot,
CreateSession, WaitBeforeFirstPoll, then PollSession / RouteOnSessionState / WaitBetweenPolls
until READY, PublishReady) with the definition's Retry policy for Nimble errors, on a
:class:`~benchmarks.simclock.SimulatedClock` with the polling benchmark's latency model.

``--engine`` runs the definition itself instead: moto's ASL engine with every execution a
thread of the same simulated clock (:mod:`benchmarks.scale_engine`). At the same N both make
the same calls at the same virtual moments (tests/benchmarks/test_scale_engine.py); the
engine costs more real time per execution (moto's interpreter, a Lambda Invoke through
botocore per Task), which is why the walked path stays the default at 1,000.

The same run is made twice: with the limits (emulator on, schedule on) and without (emulator
off, every call unscheduled), for the calls-per-session ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import random
import resource
import sys
import threading
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.polling import LATENCY, LatencyModel
from benchmarks.simclock import SimulatedClock
from local.moto_patches import seconds_until_wake

__all__ = ["ScaleRun", "run_scale", "scale_results"]

ROOT = Path(__file__).resolve().parent.parent
STUDIO = "studio-local"
START = 1_900_000_000.0
#: GPU sessions took minutes: each session's provisioning time is drawn from this range.
PROVISIONING_RANGE_S = (120.0, 600.0)
#: The state machine's Retry for transient Nimble errors (CreateSession, PollSession).
TRANSIENT = {
    "ThrottlingException",
    "InternalServerErrorException",
    "ConflictException",
    "NimbleConnectionError",
}
RETRY_ATTEMPTS, RETRY_INTERVAL_S, RETRY_BACKOFF, RETRY_MAX_DELAY_S = 5, 1.0, 2.0, 16.0


WALKED_METHOD = (
    "Real step functions, call schedule (DynamoDB in moto) and emulator with its rate limits "
    "over HTTP; the state machine's path and Retry policy walked per execution on a "
    "simulated clock shared by all executions (benchmarks/scale.py)."
)
ENGINE_METHOD = (
    "The real definition in moto's ASL engine (LocalEngine, the template's parameters, handlers "
    "in process), the call schedule (DynamoDB in moto) and the emulator with its rate limits over "
    "HTTP; every execution a thread of one simulated clock (benchmarks/scale_engine.py)."
)


def wait_state_seconds(until: datetime, clock: SimulatedClock) -> float:
    """A Wait state's TimestampPath as AWS runs it (milliseconds truncated), as the engine does."""
    return seconds_until_wake(until.isoformat(), clock.time(), exact=True)


@dataclass
class ScaleRun:
    """What one run saw."""

    sessions: int
    limited: bool
    calls: list[tuple[str, float]] = field(default_factory=list)  # (operation, virtual time)
    outcomes: dict[str, str] = field(default_factory=dict)  # token -> READY or the error
    published: dict[str, float] = field(default_factory=dict)  # token -> PublishReady time
    retries: Counter[str] = field(default_factory=Counter)
    concurrency: int = 0
    peak_concurrency: int = 0
    ready_at: dict[str, float] = field(default_factory=dict)
    throttled: dict[str, int] = field(default_factory=dict)
    virtual_seconds: float = 0.0
    real_seconds: float = 0.0
    engine: bool = False  # run by moto's ASL engine (benchmarks/scale_engine.py), not walked here
    ready_events: dict[str, int] = field(default_factory=dict)  # token -> Ready events (engine)

    def per_second(self, operation: str) -> list[int]:
        counts = Counter(int(t - START) for op, t in self.calls if op == operation)
        return [counts.get(second, 0) for second in range(max(counts, default=-1) + 1)]

    def calls_per_session(self) -> float:
        return len(self.calls) / self.sessions

    def detection_delays(self) -> list[float]:
        return [self.published[t] - self.ready_at[t] for t in self.published if t in self.ready_at]


class _Execution:
    """One execution's path through the definition, as the state machine takes it."""

    def __init__(self, index: int, run: ScaleRun, ctx: _Context) -> None:
        self.token = f"scale-{index:05d}"
        self.run, self.ctx = run, ctx
        self.rng = random.Random(index)  # noqa: S311 - the retry jitter, not a secret

    def state(self, name: str) -> None:
        self.ctx.clock.sleep(self.ctx.latency.transition_s)

    def task(self, name: str, call: Any) -> Any:
        """A Lambda task with the definition's Retry for transient Nimble errors."""
        attempt = 0
        while True:
            self.state(name)
            self.run.concurrency += 1
            self.run.peak_concurrency = max(self.run.peak_concurrency, self.run.concurrency)
            try:
                self.ctx.clock.sleep(self.ctx.latency.lambda_invoke_s)
                return call()
            except Exception as error:
                kind = type(error).__name__
                if kind not in TRANSIENT or attempt >= RETRY_ATTEMPTS:
                    raise
                self.run.retries[kind] += 1
                delay = min(RETRY_INTERVAL_S * RETRY_BACKOFF**attempt, RETRY_MAX_DELAY_S)
                attempt += 1
            finally:
                self.run.concurrency -= 1
            self.ctx.clock.sleep(self.rng.uniform(0, delay))  # JitterStrategy FULL

    def __call__(self) -> None:
        from session_provisioning.logic.schedule import reserve_slots
        from session_provisioning.logic.steps import create_session, poll_session, validate_request
        from session_provisioning.models.workflow import CreatedSession, PollOutcome, WorkflowState

        ctx, clock = self.ctx, self.ctx.clock
        try:
            event = {
                "execution": {"studioId": STUDIO, "clientToken": self.token, "request": ctx.request_body},
                "requestId": self.token,
                "requestedAt": clock.now().isoformat(),
                "polling": ctx.polling,
            }
            state = WorkflowState.model_validate(
                self.task("ValidateRequest", lambda: validate_request(event))
            )
            self.state("ScheduleOrStart")  # the Choice: no readyBy here, so it goes straight on
            slots = self.task("ReserveCallSlots", lambda: reserve_slots(state, ctx.scheduler, now=clock.now))
            state.slots = slots
            self.state("WaitForCreateSlot")
            clock.sleep(wait_state_seconds(slots.create_at, clock))
            created: CreatedSession = self.task("CreateSession", lambda: create_session(state, ctx.client))
            state.created = created
            self.state("WaitBeforeFirstPoll")
            clock.sleep(wait_state_seconds(slots.first_poll_at, clock))
            while True:
                invoked = clock.time()
                result = self.task(
                    "PollSession",
                    lambda invoked=invoked: poll_session(
                        state,
                        ctx.client,
                        sleep=clock.sleep,
                        now=clock.now,
                        time_left=lambda: ctx.poll_timeout_s - (clock.time() - invoked),
                        scheduler=ctx.scheduler,
                    ),
                )
                state.poll = result
                self.state("RouteOnSessionState")
                if result.outcome is not PollOutcome.PENDING:
                    break
                self.state("WaitBetweenPolls")
                clock.sleep(wait_state_seconds(result.next_poll_at, clock))
            if result.outcome is PollOutcome.READY:
                self.state("PublishReady")
                self.run.published[self.token] = clock.time()
            self.run.outcomes[self.token] = result.outcome.value
        except Exception as error:
            self.run.outcomes[self.token] = type(error).__name__


@dataclass
class _Context:
    clock: SimulatedClock
    client: Any
    scheduler: Any
    polling: dict[str, Any]
    request_body: dict[str, Any]
    poll_timeout_s: float
    latency: LatencyModel


def record_emulator(run: ScaleRun, emulator: Any) -> None:
    """What the emulator saw of a run: the calls it throttled, and when each session was READY."""
    snapshot = emulator.backend.snapshot()
    run.throttled = snapshot["throttledCounts"]
    run.ready_at = {
        s["clientToken"]: datetime.fromisoformat(s["startedAt"].replace("Z", "+00:00")).timestamp()
        for s in snapshot["sessions"]
        if s.get("startedAt")
    }


def _template_defaults() -> tuple[dict[str, Any], dict[str, float], float]:
    from local.engine import load_template

    template = load_template(ROOT / "template.yaml")
    parameters = template["Parameters"]

    def default(name: str) -> float:
        return float(parameters[name]["Default"])

    polling = {
        "initialWaitSeconds": int(default("PollInitialWaitSeconds")),
        "intervalSeconds": int(default("PollIntervalSeconds")),
        "checksPerPoll": int(default("PollChecksPerInvocation")),
        "budgetSeconds": int(default("PollBudgetSeconds")),
    }
    rates = {
        "CreateStreamingSession": default("NimbleCreateCallsPerSecond"),
        "GetStreamingSession": default("NimbleGetCallsPerSecond"),
    }
    poll_timeout = float(template["Resources"]["PollSessionFunction"]["Properties"]["Timeout"])
    return polling, rates, poll_timeout


def run_scale(
    sessions: int,
    *,
    limited: bool,
    latency: LatencyModel = LATENCY,
    provisioning_range: tuple[float, float] = PROVISIONING_RANGE_S,
) -> ScaleRun:
    """One morning: ``sessions`` executions entering provisioning within the same second."""
    import boto3
    from moto import mock_aws

    from local.emulator import EmulatorConfig, start_emulator
    from local.tables import create_tables
    from local.template import TemplateResolver, load_template
    from session_provisioning.logic.schedule import DynamoDbCallSchedule, Unscheduled
    from session_provisioning.nimble.client import nimble_client

    polling, rates, poll_timeout = _template_defaults()
    run = ScaleRun(sessions=sessions, limited=limited)
    clock = SimulatedClock(START)
    config = EmulatorConfig(
        provisioning_seconds=provisioning_range, seed=15, rate_limits={"enabled": limited}
    )
    started = time.perf_counter()
    with mock_aws(), start_emulator(port=0, config=config) as emulator:
        emulator.backend.clock = clock.time
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        resolver = TemplateResolver(load_template(ROOT / "template.yaml"))
        create_tables(resolver, dynamodb)
        table = resolver.table_name("CallScheduleTable")
        scheduler = DynamoDbCallSchedule(lambda: dynamodb, table, rates) if limited else Unscheduled()
        client = nimble_client(endpoint_url=emulator.url, region_name="us-east-1")

        def before_call(model: Any, **_: Any) -> None:
            clock.sleep(latency.nimble_call_s)
            run.calls.append((model.name, clock.time()))

        client.meta.events.register("before-call.nimble", before_call)
        ctx = _Context(
            clock=clock,
            client=client,
            scheduler=scheduler,
            polling=polling,
            request_body={"launchProfileId": "lp-local", "ownedBy": "artist@example.com"},
            poll_timeout_s=poll_timeout,
            latency=latency,
        )
        for index in range(sessions):
            # All within the same second, as requests with one readyBy leave their Wait together.
            clock.spawn(_Execution(index, run, ctx), f"execution-{index}", at=START + index / sessions)
        clock.run()
        if clock.errors:
            raise RuntimeError(f"{len(clock.errors)} executions crashed: {clock.errors[0]!r}")
        record_emulator(run, emulator)
        limits = emulator.backend.config.rate_limits.effective()
    run.virtual_seconds = clock.elapsed()
    run.real_seconds = time.perf_counter() - started
    run.limits = limits  # type: ignore[attr-defined]
    run.rates = rates  # type: ignore[attr-defined]
    return run


def scale_results(limited: ScaleRun, unlimited: ScaleRun) -> dict[str, Any]:
    """The results.json ``scale`` section."""
    get_limit = limited.limits["GetStreamingSession"]["ratePerSecond"]  # type: ignore[attr-defined]
    create_limit = limited.limits["CreateStreamingSession"]["ratePerSecond"]  # type: ignore[attr-defined]
    gets = limited.per_second("GetStreamingSession")
    delays = limited.detection_delays()
    failed = Counter(v for v in limited.outcomes.values() if v != "READY")
    unlimited_delays = unlimited.detection_delays()
    return {
        "requests": limited.sessions,
        "all_ready": len(limited.outcomes) == limited.sessions
        and all(v == "READY" for v in limited.outcomes.values()),
        "failed_for_throttling": failed.get("ThrottlingException", 0),
        "failed": dict(failed),
        "throttled_calls": limited.throttled,
        "retried_calls": dict(limited.retries),
        "max_get_per_s": max(gets, default=0),
        "get_limit_per_s": get_limit,
        "get_schedule_per_s": limited.rates["GetStreamingSession"],  # type: ignore[attr-defined]
        "max_create_per_s": max(limited.per_second("CreateStreamingSession"), default=0),
        "create_limit_per_s": create_limit,
        "nimble_calls_per_session": round(limited.calls_per_session(), 2),
        "nimble_calls_per_session_without_limits": round(unlimited.calls_per_session(), 2),
        "nimble_calls_per_session_ratio": round(
            limited.calls_per_session() / unlimited.calls_per_session(), 4
        ),
        "max_detection_delay_s": round(max(delays, default=float("nan")), 2),
        "mean_detection_delay_s": round(sum(delays) / max(len(delays), 1), 2),
        "max_detection_delay_without_limits_s": round(max(unlimited_delays, default=float("nan")), 2),
        "peak_lambda_concurrency": limited.peak_concurrency,
        "peak_lambda_concurrency_without_limits": unlimited.peak_concurrency,
        "without_limits_all_ready": all(v == "READY" for v in unlimited.outcomes.values()),
        "without_limits_max_get_per_s": max(unlimited.per_second("GetStreamingSession"), default=0),
        "last_ready_after_s": round(max(limited.published.values(), default=START) - START, 1),
        "provisioning_range_s": list(PROVISIONING_RANGE_S),
        "get_per_second": gets,
        "get_per_second_without_limits": unlimited.per_second("GetStreamingSession"),
        "virtual_seconds": round(limited.virtual_seconds, 1),
        "real_seconds": round(limited.real_seconds + unlimited.real_seconds, 1),
        "method": ENGINE_METHOD if limited.engine else WALKED_METHOD,
    } | (
        {
            "engine": True,
            "ready_events_exactly_once": len(limited.ready_events) == limited.sessions
            and set(limited.ready_events.values()) == {1},
        }
        if limited.engine
        else {}
    )


def _run_to_file(sessions: int, limited: bool, out: Path, *, engine: bool = False) -> None:
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Powertools' EMF lines and metric warnings: unread here
        if engine:
            from benchmarks.scale_engine import run_scale_engine

            label = "limited" if limited else "unlimited"
            run = run_scale_engine(
                sessions, limited=limited, log=lambda line: print(f"{label}: {line}", file=sys.stderr)
            )
        else:
            run = run_scale(sessions, limited=limited)
    document = {
        "run": {k: v for k, v in run.__dict__.items() if k not in ("retries",)}
        | {"retries": dict(run.retries)},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    out.write_text(json.dumps(document, default=list), encoding="utf-8")


def _load(path: Path) -> tuple[ScaleRun, float]:
    document = json.loads(path.read_text(encoding="utf-8"))
    data = document["run"]
    run = ScaleRun(sessions=data["sessions"], limited=data["limited"])
    run.calls = [(op, t) for op, t in data["calls"]]
    run.outcomes, run.published, run.ready_at = data["outcomes"], data["published"], data["ready_at"]
    run.retries = Counter(data["retries"])
    run.peak_concurrency, run.throttled = data["peak_concurrency"], data["throttled"]
    run.virtual_seconds, run.real_seconds = data["virtual_seconds"], data["real_seconds"]
    run.limits, run.rates = data["limits"], data["rates"]  # type: ignore[attr-defined]
    run.engine, run.ready_events = data.get("engine", False), data.get("ready_events", {})
    return run, document["peak_rss_mb"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--only",
        choices=("limited", "unlimited"),
        help="one of the two runs, its raw record to --out (the two run side by side, a process each)",
    )
    parser.add_argument("--combine", nargs=2, type=Path, metavar=("LIMITED", "UNLIMITED"))
    parser.add_argument(
        "--engine",
        action="store_true",
        help="run the definition in moto's ASL engine (benchmarks/scale_engine.py) instead of walking it",
    )
    args = parser.parse_args(argv)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    threading.stack_size(512 * 1024)  # a thousand threads, each shallow
    if args.only:
        _run_to_file(args.sessions, args.only == "limited", args.out, engine=args.engine)
        return 0
    if args.combine:
        (limited, limited_rss), (unlimited, unlimited_rss) = (_load(path) for path in args.combine)
    else:
        scratch = args.out.with_suffix(".runs")
        scratch.mkdir(exist_ok=True)
        _run_to_file(args.sessions, True, scratch / "limited.json", engine=args.engine)
        _run_to_file(args.sessions, False, scratch / "unlimited.json", engine=args.engine)
        (limited, limited_rss), (unlimited, unlimited_rss) = (
            _load(scratch / name) for name in ("limited.json", "unlimited.json")
        )
    results = scale_results(limited, unlimited)
    results["peak_rss_mb"] = max(limited_rss, unlimited_rss)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
