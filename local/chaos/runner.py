"""One chaos run, start to end: a private local stack, the emulator turned hostile, the
requests sent, every outcome waited for, and what was observed handed to the checks."""

from __future__ import annotations

import contextlib
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.chaos.client import Submission, http_json, submit_all
from local.chaos.plan import STUDIO, ChaosConfig, emulator_faults, plan_requests
from local.chaos.verdict import (
    ChaosReport,
    assess,
    check_submissions,
    print_report,
    read_events,
    terminal_ids,
)
from local.engine import REGION
from local.stack import LocalStack, StackSettings

__all__ = ["run"]


def run(config: ChaosConfig, *, out: Callable[[str], None] | None = None) -> ChaosReport:
    """One chaos run on a private local stack; the report says what (if anything) went wrong.

    ``out`` receives the report's lines (default: print to stdout). While the stack runs, what
    the handlers print (Powertools' EMF metric lines) goes to stderr, so stdout carries only
    the report and ends with the summary line.
    """
    if out is None:
        stdout = sys.stdout

        def out(line: str) -> None:
            print(line, file=stdout, flush=True)

    with contextlib.redirect_stdout(sys.stderr):
        report = _run(config, out)
    print_report(report, out)
    return report


def _run(config: ChaosConfig, out: Callable[[str], None]) -> ChaosReport:
    started = time.monotonic()
    rng = random.Random(config.seed)
    report = ChaosReport(requests=config.requests)
    with tempfile.TemporaryDirectory(prefix="chaos-") as scratch:
        events_file = Path(scratch) / "events.jsonl"
        settings = StackSettings(
            api_port=0,
            nimble_port=0,
            events_file=events_file,
            provisioning_seconds=config.provisioning_seconds,
            parameter_overrides={
                "PollInitialWaitSeconds": str(config.poll_initial_wait_seconds),
                "PollIntervalSeconds": str(config.poll_interval_seconds),
                "PollChecksPerInvocation": "1",
                "PollBudgetSeconds": str(config.poll_budget_seconds),
                "ReadyByLeadSeconds": str(config.ready_by_lead_seconds),
            },
            log_level="ERROR",
        )
        with LocalStack(settings) as stack:
            assert stack.emulator is not None
            control = f"{stack.emulator.url}/_emulator"
            status, answer = http_json(
                "POST",
                f"{control}/config",
                {
                    "seed": config.seed,
                    "provisioningSeconds": list(config.provisioning_seconds),
                    "deletionSeconds": config.deletion_seconds,
                    "faults": emulator_faults(config),
                    "rateLimits": {"enabled": config.rate_limits},
                },
            )
            if status != 200:
                raise RuntimeError(f"the emulator refused the chaos configuration: {status} {answer}")
            out(
                f"chaos: {config.requests} requests (+{round(config.requests * config.duplicate_fraction)} "
                f"replayed at once), seed {config.seed}, rate limits {'on' if config.rate_limits else 'off'}, "
                f"API {stack.api_url}, emulator {stack.emulator.url}"
            )
            assert stack.engine is not None
            stopper = _stopper(stack.engine.state_machine_arn)
            submissions = submit_all(stack.api_url, plan_requests(config, rng), config.workers, stopper)
            check_submissions(submissions, report)
            accepted: dict[str, Submission] = {}
            for item in submissions:
                # Of a request sent twice, the submission that cancelled or stopped it stands for it.
                if item.request_id and (item.request_id not in accepted or item.cancels or item.stopped):
                    accepted[item.request_id] = item
            report.accepted = len(accepted)

            deadline = started + config.timeout_seconds
            closed_without_event = _wait_for_outcomes(
                stack.api_url, events_file, set(accepted), deadline, config.reconcile_grace_seconds
            )
            _wait_for_quiet(events_file, min(deadline, time.monotonic() + config.reconcile_grace_seconds))
            events = read_events(events_file)
            statuses = {rid: _status(stack.api_url, rid) for rid in accepted}
            state = _settled_state(control, config.deletion_seconds + 5)
        assess(report, accepted, events, statuses, state, closed_without_event)
    report.wall_seconds = time.monotonic() - started
    report.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def _status(api_url: str, request_id: str) -> dict[str, Any]:
    status, body = http_json("GET", f"{api_url}/studios/{STUDIO}/streaming-sessions/requests/{request_id}")
    return body if status == 200 and isinstance(body, dict) else {"status": f"HTTP {status}", "body": body}


def _stopper(state_machine_arn: str) -> Callable[[str], str]:
    """StopExecution of a request's execution, as an operator would (no error, no cause), with
    a Step Functions client of its own against the engine's moto (the mock is process-wide)."""
    import boto3

    sfn = boto3.client("stepfunctions", region_name=REGION)
    prefix = state_machine_arn.replace(":stateMachine:", ":execution:")

    def stop(request_id: str) -> str:
        arn = f"{prefix}:{request_id}"
        if sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
            return "already ended"
        try:
            sfn.stop_execution(executionArn=arn)
        except Exception as error:
            return f"not stopped: {error!r}"[:200]
        return "stopped"

    return stop


def _wait_for_quiet(events_file: Path, deadline: float, quiet_seconds: float = 3.0) -> None:
    """Until the events file stopped growing for ``quiet_seconds``: late events (a reconciler's,
    after its execution ended; a retried attempt's) are counted too."""
    size, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_size = events_file.stat().st_size if events_file.exists() else 0
        if now_size != size:
            size, since = now_size, time.monotonic()
        elif time.monotonic() - since >= quiet_seconds:
            return
        time.sleep(0.25)


def _wait_for_outcomes(
    api_url: str, events_file: Path, pending: set[str], deadline: float, grace: float
) -> set[str]:
    """Waits until every request has a terminal event, or its workflow ended without one.

    Returns the requests whose workflow closed (GET status not IN_PROGRESS) and still had no
    event ``grace`` seconds later (the reconciler announces stopped executions asynchronously,
    retrying a failed attempt), plus those still running at the deadline.
    """
    pending = set(pending)
    closed_at: dict[str, float] = {}
    given_up: set[str] = set()
    last_status_round = time.monotonic()
    while pending:
        now = time.monotonic()
        if now >= deadline:
            return given_up | pending
        time.sleep(1.0)
        pending -= terminal_ids(read_events(events_file))
        if pending and time.monotonic() - last_status_round >= 5:
            last_status_round = time.monotonic()
            for request_id in sorted(pending):
                if _status(api_url, request_id).get("status") != "IN_PROGRESS":
                    closed_at.setdefault(request_id, last_status_round)
            for request_id, when in closed_at.items():
                if request_id in pending and last_status_round - when >= grace:
                    given_up.add(request_id)
            pending -= given_up
    return given_up


def _settled_state(control: str, seconds: float) -> dict[str, Any]:
    """The emulator's state once no deletion is in progress (or after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while True:
        status, state = http_json("GET", f"{control}/state")
        if status != 200:
            raise RuntimeError(f"GET /_emulator/state answered {status}: {state}")
        busy = [s for s in state["sessions"] if s["state"] == "DELETE_IN_PROGRESS"]
        if not busy or time.monotonic() >= deadline:
            return state
        time.sleep(0.25)
