"""What a chaos run found: the report, the checks on what was observed, the printed summary.

The checks take plain observations (submissions, the events file's lines, GET status bodies,
``GET /_emulator/state``), so they can be tried on made-up outcomes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.chaos.client import Submission

__all__ = ["ChaosReport", "assess", "check_submissions", "print_report", "read_events", "terminal_ids"]

READY = "Streaming Session Ready"
FAILED = "Streaming Session Failed"
TERMINAL = (READY, FAILED)
#: Session states in which nothing is left running.
DELETED_STATES = frozenset({"DELETED", "DELETE_IN_PROGRESS"})
CANCELLED_CODE = "RequestCancelled"
ABORTED_CODE = "ExecutionAborted"


@dataclass
class ChaosReport:
    """What the run saw; every count past ``sessions`` is also a line in ``violations``."""

    requests: int
    #: Requests the API answered 202 (one per token, replays included once).
    accepted: int = 0
    terminal_events: int = 0
    # The promises: no event beyond the first, none missing, one session a token, none left.
    duplicate_events: int = 0
    lost: int = 0
    duplicate_sessions: int = 0
    orphaned_sessions: int = 0
    #: Sessions the emulator made in all.
    sessions: int = 0
    #: DELETEs sent, and how many were answered 202; executions stopped directly.
    cancels: int = 0
    cancels_accepted: int = 0
    stops: int = 0
    #: Cancelled or stopped requests whose event says the deletion was not (yet) confirmed.
    unconfirmed_deletions: int = 0
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


def check_submissions(submissions: list[Submission], report: ChaosReport) -> None:
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


def read_events(events_file: Path) -> list[dict[str, Any]]:
    if not events_file.exists():
        return []
    events = []
    for line in events_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            events.append(json.loads(line))
    return events


def terminal_ids(events: list[dict[str, Any]]) -> set[str]:
    return {
        event["detail"].get("requestId")
        for event in events
        if event.get("detail-type") in TERMINAL and isinstance(event.get("detail"), dict)
    }


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

    for submission in accepted.values():
        report.cancels += len(submission.cancels)
        report.cancels_accepted += sum(1 for status, _ in submission.cancels if status == 202)
        report.stops += submission.stopped == "stopped"
    for request_id, found in sorted(terminal.items()):
        event = found[0]
        detail = event["detail"]
        code = "Ready" if event["detail-type"] == READY else detail["error"]["code"]
        report.outcomes[code] += 1
        _check_intervention(report, request_id, accepted[request_id], code, detail, sessions_by_id)
        status = statuses.get(request_id, {})
        expected = {"Ready": "READY", CANCELLED_CODE: "CANCELLED"}.get(code, "FAILED")
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


def _check_intervention(
    report: ChaosReport,
    request_id: str,
    submission: Submission,
    code: str,
    detail: dict[str, Any],
    sessions_by_id: dict[str, dict[str, Any]],
) -> None:
    """A cancelled (DELETE answered 202) or stopped request ends Failed with RequestCancelled or
    ExecutionAborted and its session deleted, unless READY won the race: then Ready, and a later
    DELETE is a 409. Nobody else's request ends with those codes."""
    answers = [status for status, _ in submission.cancels]
    bad_answers = [answer for answer in answers if answer not in (202, 409)]
    if bad_answers:
        report.violations.append(f"cancel answered {submission.cancels}: {request_id}")
    cancelled = 202 in answers
    stopped = submission.stopped == "stopped"
    if submission.stopped not in (None, "stopped", "already ended"):
        report.violations.append(f"StopExecution failed: {request_id}: {submission.stopped}")
    allowed = {"Ready"} | ({CANCELLED_CODE} if cancelled else set()) | ({ABORTED_CODE} if stopped else set())
    if code in (CANCELLED_CODE, ABORTED_CODE) and code not in allowed:
        report.violations.append(
            f"{request_id} ended {code} but was not {'cancelled' if code == CANCELLED_CODE else 'stopped'}"
        )
    elif (cancelled or stopped) and code not in allowed:
        report.violations.append(
            f"{request_id} was {'cancelled' if cancelled else 'stopped'} but ended {code}, "
            f"not Ready or {CANCELLED_CODE if cancelled else ABORTED_CODE}"
        )
    if code == CANCELLED_CODE:
        if not detail.get("cancelledBy"):
            report.violations.append(f"cancelled without cancelledBy: {request_id}")
        if cancelled and 409 in answers[answers.index(202) :]:
            report.violations.append(f"cancelled, yet a later DELETE answered 409: {request_id} {answers}")
    if code in (CANCELLED_CODE, ABORTED_CODE):
        session = sessions_by_id.get(detail.get("sessionId"))
        if session is not None and session["state"] not in DELETED_STATES | {"CREATE_FAILED"}:
            report.violations.append(
                f"{code}, but session {session['sessionId']} is {session['state']}: {request_id}"
            )
        # Best effort, as promised: the event says so and why (e.g. a throttled Get ended the
        # confirmation); the session's own state is what is checked above.
        confirmed = (detail.get("cleanup") or {}).get("sessionDeleted")
        if session is not None and session["state"] != "CREATE_FAILED" and not confirmed:
            report.unconfirmed_deletions += 1


def print_report(report: ChaosReport, out: Callable[[str], None]) -> None:
    mix = ", ".join(f"{code} {count}" for code, count in report.outcomes.most_common())
    out(f"chaos: outcomes: {mix or 'none'}")
    out(f"chaos: faults fired: {', '.join(f'{k} {v}' for k, v in report.faults_fired.items()) or 'none'}")
    out(
        f"chaos: {report.accepted} accepted, {report.sessions} sessions made; "
        f"wall {report.wall_seconds:.1f} s, peak RSS {report.peak_rss_mib:.0f} MiB"
    )
    out(
        f"chaos: {report.cancels} cancels sent ({report.cancels_accepted} answered 202), "
        f"{report.stops} executions stopped directly; "
        f"{report.unconfirmed_deletions} of their deletions unconfirmed in the event"
    )
    for violation in report.violations:
        out(f"chaos: VIOLATION {violation}")
    out(report.summary_line())
