"""`make chaos`: many concurrent requests through the local stack while Nimble Studio misbehaves.

    make chaos                                   # 200 requests, seed 1
    CHAOS_REQUESTS=50 CHAOS_SEED=7 make chaos
    PYTHONPATH=functions:. python -m local.chaos --requests 30 --seed 3

It starts a private :class:`~local.stack.LocalStack` (emulator, engine, API, each on a free
port of 127.0.0.1, events to a temporary file) with fast polling (first check after 1 s, then
every second, giving up after ``--poll-budget`` s), and turns the emulator hostile through its
control endpoint, on every operation:

* 20% ``ThrottlingException`` and 5% ``InternalServerErrorException`` (any operation),
* 5% ``ConflictException`` on CreateStreamingSession,
* 5% of the sessions end ``CREATE_FAILED`` (a random failure statusCode), 5% never become READY,
* provisioning takes a random 1-10 s per session.

Then it sends N requests over real HTTP to the local API, from a pool of client threads, each
with its own client token; 10% are sent a second time at the same moment (same token, same
body), which must give the same requestId. A client retries 429/502/503 and connection errors
with the same token, as the API asks. It waits until every accepted request has a terminal
event (or its workflow closed without one), lets pending deletions finish, and checks, as an
outside observer (the API, the events file and ``GET /_emulator/state``):

* lost: an accepted request with no terminal event;
* duplicate events: terminal events beyond the first for one requestId;
* duplicate sessions: sessions beyond the first for one (studio, client token);
* orphaned sessions: a session that is neither READY and announced by a Ready event, nor
  deleted (DELETED, or DELETE_IN_PROGRESS after the workflow asked), nor CREATE_FAILED;
* and, printed as violations too: a request not accepted, a replay answered with another
  requestId, a status (GET) that disagrees with the event, an event whose claims about the
  session (READY, deleted) the emulator contradicts.

It prints the outcome mix, the faults that fired, wall time and peak RSS, details of every
violation, and ends with one line::

    chaos: N requests, N terminal events, 0 duplicate events, 0 lost, 0 duplicate sessions, 0 orphaned sessions

The exit status is 0 when nothing was violated, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import resource
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.stack import LocalStack, StackSettings

__all__ = ["ChaosConfig", "ChaosReport", "Planned", "Submission", "assess", "emulator_faults", "main", "run"]

STUDIO = "studio-local"
LAUNCH_PROFILES = ("lp-local", "lp-local-2")
INSTANCE_TYPES = ("g4dn.xlarge", "g4dn.2xlarge", "g5.xlarge", None)
READY = "Streaming Session Ready"
FAILED = "Streaming Session Failed"
TERMINAL = (READY, FAILED)
#: Session states in which nothing is left running.
DELETED_STATES = frozenset({"DELETED", "DELETE_IN_PROGRESS"})
#: Answers worth the same request again (with the same token): the API says "retry".
RETRYABLE_STATUSES = frozenset({429, 502, 503})


@dataclass(frozen=True)
class ChaosConfig:
    requests: int = 200
    seed: int = 1
    duplicate_fraction: float = 0.10
    throttling: float = 0.20
    internal_errors: float = 0.05
    create_conflicts: float = 0.05
    create_failed: float = 0.05
    never_ready: float = 0.05
    provisioning_seconds: tuple[float, float] = (1.0, 10.0)
    poll_initial_wait_seconds: int = 1
    poll_interval_seconds: int = 1
    #: Never-ready sessions give up (and are deleted) after this many seconds of polling.
    poll_budget_seconds: int = 20
    deletion_seconds: float = 1.0
    #: Client threads sending the requests.
    workers: int = 50
    #: The whole run (submission to the last terminal event) must end within this.
    timeout_seconds: float = 900.0


@dataclass(frozen=True)
class Planned:
    """One request of the run: its token and body, and whether it is sent twice at once."""

    index: int
    token: str
    body: dict[str, Any]
    duplicate: bool


@dataclass
class Submission:
    planned: Planned
    status: int | None = None
    body: Any = None
    attempts: int = 0
    error: str | None = None

    @property
    def request_id(self) -> str | None:
        if self.status == 202 and isinstance(self.body, dict):
            return self.body.get("requestId")
        return None


@dataclass
class ChaosReport:
    requests: int
    accepted: int = 0
    terminal_events: int = 0
    duplicate_events: int = 0
    lost: int = 0
    duplicate_sessions: int = 0
    orphaned_sessions: int = 0
    sessions: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    faults_fired: dict[str, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    peak_rss_mib: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary_line(self) -> str:
        return (
            f"chaos: {self.requests} requests, {self.terminal_events} terminal events, "
            f"{self.duplicate_events} duplicate events, {self.lost} lost, "
            f"{self.duplicate_sessions} duplicate sessions, {self.orphaned_sessions} orphaned sessions"
        )


def emulator_faults(config: ChaosConfig) -> list[dict[str, Any]]:
    """The fault rules of the run, in the emulator's ``POST /_emulator/faults`` format.

    Error rules are tried in this order, so a call gets at most one error: 20% throttled, then
    5% of the rest fail with a server error, then (Create only) 5% of the rest conflict.
    """
    return [
        {"operation": "*", "error": "ThrottlingException", "probability": config.throttling},
        {"operation": "*", "error": "InternalServerErrorException", "probability": config.internal_errors},
        {
            "operation": "CreateStreamingSession",
            "error": "ConflictException",
            "probability": config.create_conflicts,
        },
        {"sessionOutcome": "CREATE_FAILED", "random": True, "probability": config.create_failed},
        # Of the sessions that did not draw CREATE_FAILED: about 5% of all.
        {"sessionOutcome": "NEVER_READY", "probability": config.never_ready / (1 - config.create_failed)},
    ]


def plan_requests(config: ChaosConfig, rng: random.Random) -> list[Planned]:
    run_tag = f"chaos-{config.seed}-{rng.getrandbits(32):08x}"
    duplicates = set(rng.sample(range(config.requests), round(config.requests * config.duplicate_fraction)))
    planned = []
    for index in range(config.requests):
        body: dict[str, Any] = {
            "launchProfileId": rng.choice(LAUNCH_PROFILES),
            "ownedBy": f"artist-{index % 17}@example.com",
        }
        instance_type = rng.choice(INSTANCE_TYPES)
        if instance_type is not None:
            body["ec2InstanceType"] = instance_type
        if rng.random() < 0.3:
            body["tags"] = {"project": f"shot-{index % 5}", "run": run_tag}
        planned.append(Planned(index, f"{run_tag}-{index:04d}", body, index in duplicates))
    return planned


# --- HTTP, as any client would ------------------------------------------------------------------


def http_json(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, Any]:
    """(status, parsed JSON body or the raw text) of one request; loopback only."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - http://127.0.0.1 URLs
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def submit(api_url: str, planned: Planned, barrier: threading.Barrier | None = None) -> Submission:
    """POST the request (retrying what the API says to retry, with the same token)."""
    result = Submission(planned)
    url = f"{api_url}/studios/{STUDIO}/streaming-sessions"
    if barrier is not None:
        # The original and its duplicate leave together (if the other never comes, go anyway).
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=60)
    for attempt in range(6):
        result.attempts = attempt + 1
        try:
            result.status, result.body = http_json(
                "POST", url, planned.body, {"X-Amz-Client-Token": planned.token}
            )
            result.error = None
        except OSError as error:  # refused, reset, timed out
            result.status, result.body, result.error = None, None, repr(error)
        if result.status is not None and result.status not in RETRYABLE_STATUSES:
            return result
        time.sleep(min(0.2 * 2**attempt, 3.0))
    return result


# --- the run --------------------------------------------------------------------------------------


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
    _print_report(report, out)
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
                },
            )
            if status != 200:
                raise RuntimeError(f"the emulator refused the chaos configuration: {status} {answer}")
            out(
                f"chaos: {config.requests} requests (+{round(config.requests * config.duplicate_fraction)} "
                f"replayed at once), seed {config.seed}, API {stack.api_url}, emulator {stack.emulator.url}"
            )
            submissions = _submit_all(stack.api_url, plan_requests(config, rng), config.workers)
            _check_submissions(submissions, report)
            accepted: dict[str, Submission] = {}
            for item in submissions:
                if item.request_id:
                    accepted.setdefault(item.request_id, item)
            report.accepted = len(accepted)

            deadline = started + config.timeout_seconds
            closed_without_event = _wait_for_outcomes(stack.api_url, events_file, set(accepted), deadline)
            time.sleep(0.5)  # the engine drains its event queue every 0.2 s
            events = _read_events(events_file)
            statuses = {rid: _status(stack.api_url, rid) for rid in accepted}
            state = _settled_state(control, config.deletion_seconds + 5)
        assess(report, accepted, events, statuses, state, closed_without_event)
    report.wall_seconds = time.monotonic() - started
    report.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def _submit_all(api_url: str, planned: list[Planned], workers: int) -> list[Submission]:
    with ThreadPoolExecutor(max_workers=max(workers, 2), thread_name_prefix="chaos-client") as pool:
        futures = []
        for item in planned:
            if item.duplicate:
                # Adjacent in the queue, so two threads take them and the barrier lets both go.
                barrier = threading.Barrier(2)
                futures.append(pool.submit(submit, api_url, item, barrier))
                futures.append(pool.submit(submit, api_url, item, barrier))
            else:
                futures.append(pool.submit(submit, api_url, item))
        return [future.result() for future in futures]


def _check_submissions(submissions: list[Submission], report: ChaosReport) -> None:
    by_token: dict[str, list[Submission]] = {}
    for submission in submissions:
        by_token.setdefault(submission.planned.token, []).append(submission)
        if submission.request_id is None:
            report.violations.append(
                f"not accepted: token {submission.planned.token}: status {submission.status} "
                f"after {submission.attempts} attempt(s): {submission.body or submission.error}"
            )
    for token, group in by_token.items():
        ids = {s.request_id for s in group if s.request_id}
        if len(ids) > 1:
            report.violations.append(f"replay of token {token} got other requestIds: {sorted(ids)}")


def _read_events(events_file: Path) -> list[dict[str, Any]]:
    if not events_file.exists():
        return []
    events = []
    for line in events_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            events.append(json.loads(line))
    return events


def _terminal_ids(events: list[dict[str, Any]]) -> set[str]:
    return {
        event["detail"].get("requestId")
        for event in events
        if event.get("detail-type") in TERMINAL and isinstance(event.get("detail"), dict)
    }


def _status(api_url: str, request_id: str) -> dict[str, Any]:
    status, body = http_json("GET", f"{api_url}/studios/{STUDIO}/streaming-sessions/requests/{request_id}")
    return body if status == 200 and isinstance(body, dict) else {"status": f"HTTP {status}", "body": body}


def _wait_for_outcomes(api_url: str, events_file: Path, pending: set[str], deadline: float) -> set[str]:
    """Waits until every request has a terminal event, or its workflow ended without one.

    Returns the requests whose workflow closed (GET status not IN_PROGRESS) and still had no
    event a few seconds later, plus those still running at the deadline.
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
        pending -= _terminal_ids(_read_events(events_file))
        if pending and time.monotonic() - last_status_round >= 5:
            last_status_round = time.monotonic()
            for request_id in sorted(pending):
                if _status(api_url, request_id).get("status") != "IN_PROGRESS":
                    closed_at.setdefault(request_id, last_status_round)
            for request_id, when in closed_at.items():
                if request_id in pending and last_status_round - when >= 3:
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


def assess(
    report: ChaosReport,
    accepted: dict[str, Submission],
    events: list[dict[str, Any]],
    statuses: dict[str, dict[str, Any]],
    state: dict[str, Any],
    closed_without_event: set[str],
) -> None:
    """Counts and describes every violation into ``report`` (see the module docstring).

    ``accepted``: requestId -> its submission; ``events``: the events file's lines;
    ``statuses``: requestId -> GET status body; ``state``: ``GET /_emulator/state``.
    """
    terminal: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        detail = event.get("detail")
        if event.get("detail-type") not in TERMINAL or not isinstance(detail, dict):
            continue
        request_id = detail.get("requestId")
        if request_id not in accepted:
            report.violations.append(f"event for a request nobody made: {json.dumps(event)[:300]}")
            continue
        terminal.setdefault(request_id, []).append(event)
    report.terminal_events = sum(len(found) for found in terminal.values())

    for request_id, found in sorted(terminal.items()):
        if len(found) > 1:
            report.duplicate_events += len(found) - 1
            report.violations.append(
                f"duplicate events: {request_id} has {len(found)}: "
                + ", ".join(f"{e['detail-type']} {e['id']}" for e in found)
            )
    for request_id in sorted(set(accepted) - set(terminal)):
        report.lost += 1
        why = "its workflow closed without one" if request_id in closed_without_event else "still running"
        report.violations.append(
            f"lost: {request_id} (token {accepted[request_id].planned.token}) has no terminal event "
            f"({why}); status {json.dumps(statuses.get(request_id))[:300]}"
        )

    sessions = state.get("sessions", [])
    report.sessions = len(sessions)
    by_token: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for session in sessions:
        by_token.setdefault((session["studioId"], session["clientToken"]), []).append(session)
    for (studio, token), group in sorted(by_token.items()):
        if len(group) > 1:
            report.duplicate_sessions += len(group) - 1
            report.violations.append(
                f"duplicate sessions: token {token} in {studio} made {[s['sessionId'] for s in group]}"
            )

    announced = {
        e["detail"].get("sessionId"): e
        for found in terminal.values()
        for e in found
        if e["detail-type"] == READY
    }
    sessions_by_id = {session["sessionId"]: session for session in sessions}
    for session in sessions:
        state_name = session["state"]
        if state_name == "READY" and session["sessionId"] in announced:
            continue
        if state_name in DELETED_STATES or state_name == "CREATE_FAILED":
            continue
        report.orphaned_sessions += 1
        report.violations.append(
            f"orphaned session: {session['sessionId']} (token {session['clientToken']}) is {state_name}"
            + (" but no Ready event announced it" if state_name == "READY" else "")
        )

    for request_id, found in sorted(terminal.items()):
        event = found[0]
        detail = event["detail"]
        report.outcomes["Ready" if event["detail-type"] == READY else detail["error"]["code"]] += 1
        status = statuses.get(request_id, {})
        expected = "READY" if event["detail-type"] == READY else "FAILED"
        if status.get("status") != expected:
            report.violations.append(
                f"status disagrees with the event: {request_id} is {status.get('status')!r}, "
                f"the event says {event['detail-type']}"
            )
        session = sessions_by_id.get(detail.get("sessionId"))
        if event["detail-type"] == READY and (session is None or session["state"] != "READY"):
            report.violations.append(
                f"announced READY but the session is {session and session['state']}: {request_id}"
            )
        cleanup = detail.get("cleanup") or {}
        if cleanup.get("sessionDeleted") and session is not None and session["state"] not in DELETED_STATES:
            report.violations.append(
                f"the event says {session['sessionId']} was deleted, but it is {session['state']}: {request_id}"
            )

    report.faults_fired = {
        (rule.get("error") or rule.get("sessionOutcome")) + f" on {rule['operation']}": rule["fired"]
        for rule in state.get("faults", [])
    }


def _print_report(report: ChaosReport, out: Callable[[str], None]) -> None:
    mix = ", ".join(f"{code} {count}" for code, count in report.outcomes.most_common())
    out(f"chaos: outcomes: {mix or 'none'}")
    out(f"chaos: faults fired: {', '.join(f'{k} {v}' for k, v in report.faults_fired.items()) or 'none'}")
    out(
        f"chaos: {report.accepted} accepted, {report.sessions} sessions made; "
        f"wall {report.wall_seconds:.1f} s, peak RSS {report.peak_rss_mib:.0f} MiB"
    )
    for violation in report.violations:
        out(f"chaos: VIOLATION {violation}")
    out(report.summary_line())


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=_env_int("CHAOS_REQUESTS", 200))
    parser.add_argument("--seed", type=int, default=_env_int("CHAOS_SEED", 1))
    parser.add_argument("--poll-budget", type=int, default=_env_int("CHAOS_POLL_BUDGET_SECONDS", 20))
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds the whole run may take")
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    # The faults are the point: the engine's complaints about them (moto logs every failed
    # execution at ERROR) are noise here; the report names every violation.
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    # Handlers run with metrics disabled (EMF lines are for CloudWatch); keep it so after the
    # engine restores the environment, when late metric flushes would print everything kept.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    config = ChaosConfig(
        requests=args.requests,
        seed=args.seed,
        poll_budget_seconds=args.poll_budget,
        timeout_seconds=args.timeout,
    )
    report = run(config)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
