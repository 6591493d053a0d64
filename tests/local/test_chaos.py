"""`make chaos` in small: concurrent requests through the local stack under injected faults.

The full run (200 requests) is ``make chaos``; here 25 requests, with more sessions that fail
or never become ready than the default mix so the cleanup paths run too, must keep every
promise. What the run checks is itself checked on made-up outcomes, one violation each.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest

from local import chaos
from local.chaos import ChaosConfig, ChaosReport, Planned, Submission, assess
from local.chaos.client import body_to_send
from local.chaos.plan import plan_requests

SUMMARY = re.compile(
    r"^chaos: (\d+) requests, (\d+) terminal events, (\d+) duplicate events, (\d+) lost, "
    r"(\d+) duplicate sessions, (\d+) orphaned sessions$"
)


def test_a_small_chaos_run_loses_nothing_duplicates_nothing_orphans_nothing():
    lines: list[str] = []
    config = ChaosConfig(
        requests=25,
        seed=20261127,
        create_failed=0.15,
        never_ready=0.15,
        provisioning_seconds=(1.0, 4.0),
        poll_budget_seconds=8,
        workers=16,
        timeout_seconds=240,
    )
    report = chaos.run(config, out=lines.append)
    assert report.violations == [], "\n".join(lines)
    assert (
        lines[-1]
        == "chaos: 25 requests, 25 terminal events, 0 duplicate events, 0 lost, 0 duplicate sessions, 0 orphaned sessions"
    )
    assert SUMMARY.match(lines[-1])
    assert report.accepted == 25
    # One session per attempt at most (a create can fail for good): a request with fallbacks
    # makes one attempt per type it lists.
    planned = plan_requests(config, random.Random(config.seed))
    assert report.sessions <= sum(1 + len(p.body.get("fallbackInstanceTypes", [])) for p in planned)
    assert sum(report.outcomes.values()) == 25
    # The chaos was real: the emulator threw errors at the workflow, which retried through them.
    assert report.faults_fired["ThrottlingException on *"] > 0
    # Some requests were cancelled (at random moments, one twice) and one stopped directly.
    assert report.cancels >= 3


# --- the checker, on made-up outcomes --------------------------------------------------------


def submission(index: int) -> Submission:
    planned = Planned(index, f"token-{index}", {"launchProfileId": "lp-local"}, duplicate=False)
    return Submission(planned, status=202, body={"requestId": f"req-{index}"})


def event(request_id: str, kind: str = "Ready", session_id: str | None = None, **detail) -> dict:
    detail_type = "Streaming Session Ready" if kind == "Ready" else "Streaming Session Failed"
    body = {"requestId": request_id, "sessionId": session_id, **detail}
    if kind != "Ready":
        body.setdefault("error", {"code": "SessionNotReadyInTime", "message": "..."})
    return {"id": f"e-{request_id}-{kind}", "detail-type": detail_type, "detail": body}


def session(index: int, state: str, token: str | None = None) -> dict:
    return {
        "sessionId": f"s-{index}",
        "studioId": "studio-local",
        "clientToken": token or f"token-{index}",
        "state": state,
    }


def assessed(events, sessions, statuses=None, closed=frozenset()) -> ChaosReport:
    accepted = {f"req-{i}": submission(i) for i in range(4)}
    report = ChaosReport(requests=len(accepted))
    default_statuses = {
        rid: {
            "status": "READY"
            if any(e["detail"]["requestId"] == rid and "Ready" in e["detail-type"] for e in events)
            else "FAILED"
        }
        for rid in accepted
    }
    assess(report, accepted, events, statuses or default_statuses, {"sessions": sessions}, set(closed))
    return report


GOOD_EVENTS = [
    event("req-0", "Ready", "s-0"),
    event("req-1", "Failed", "s-1", cleanup={"sessionDeleted": True, "action": "DELETED"}),
    event("req-2", "Failed", "s-2", error={"code": "INSUFFICIENT_CAPACITY", "message": "..."}),
    event("req-3", "Failed", None, error={"code": "AccessDeniedException", "message": "..."}),
]
GOOD_SESSIONS = [session(0, "READY"), session(1, "DELETED"), session(2, "CREATE_FAILED")]


def test_the_checker_passes_a_clean_run():
    report = assessed(GOOD_EVENTS, GOOD_SESSIONS)
    assert report.violations == []
    assert report.summary_line() == (
        "chaos: 4 requests, 4 terminal events, 0 duplicate events, 0 lost, 0 duplicate sessions, 0 orphaned sessions"
    )
    assert report.outcomes == {
        "Ready": 1,
        "SessionNotReadyInTime": 1,
        "INSUFFICIENT_CAPACITY": 1,
        "AccessDeniedException": 1,
    }


@pytest.mark.parametrize(
    ("events", "sessions", "counter", "words"),
    [
        (GOOD_EVENTS[1:], GOOD_SESSIONS[1:], "lost", "lost: req-0"),
        (
            [*GOOD_EVENTS, event("req-1", "Failed", "s-1")],
            GOOD_SESSIONS,
            "duplicate_events",
            "duplicate events: req-1",
        ),
        (
            GOOD_EVENTS,
            [*GOOD_SESSIONS, session(9, "DELETED", token="token-1")],
            "duplicate_sessions",
            "duplicate sessions: token token-1",
        ),
        (
            GOOD_EVENTS,
            [*GOOD_SESSIONS, session(3, "READY")],
            "orphaned_sessions",
            "no Ready event announced it",
        ),
        (
            GOOD_EVENTS,
            [*GOOD_SESSIONS, session(3, "CREATE_IN_PROGRESS")],
            "orphaned_sessions",
            "is CREATE_IN_PROGRESS",
        ),
    ],
    ids=["lost", "duplicate-event", "duplicate-session", "ready-unannounced", "left-running"],
)
def test_the_checker_counts_each_violation(events, sessions, counter, words):
    report = assessed(events, sessions)
    assert getattr(report, counter) == 1
    assert any(words in violation for violation in report.violations), report.violations
    assert not report.ok


def test_the_checker_reports_claims_the_emulator_contradicts():
    sessions = [session(0, "DELETED"), session(1, "CREATE_IN_PROGRESS"), session(2, "CREATE_FAILED")]
    report = assessed(GOOD_EVENTS, sessions, statuses={f"req-{i}": {"status": "FAILED"} for i in range(4)})
    assert any("announced READY but the session is DELETED" in v for v in report.violations)
    assert any("says s-1 was deleted, but it is CREATE_IN_PROGRESS" in v for v in report.violations)
    assert any("status disagrees with the event: req-0" in v for v in report.violations)


@pytest.mark.parametrize(("violations", "status"), [([], 0), (["lost: req-1"], 1)])
def test_main_exits_non_zero_on_any_violation(monkeypatch, violations, status):
    seen = {}

    def fake_run(config):
        seen["config"] = config
        return ChaosReport(requests=config.requests, violations=list(violations))

    monkeypatch.setattr(chaos, "run", fake_run)
    monkeypatch.setenv("CHAOS_REQUESTS", "7")
    assert chaos.main(["--seed", "5"]) == status
    assert (seen["config"].requests, seen["config"].seed) == (7, 5)


def test_the_fault_mix_is_what_make_chaos_promises():
    faults = chaos.emulator_faults(ChaosConfig())
    assert faults[:3] == [
        {"operation": "*", "error": "ThrottlingException", "probability": 0.2},
        {"operation": "*", "error": "InternalServerErrorException", "probability": 0.05},
        {"operation": "CreateStreamingSession", "error": "ConflictException", "probability": 0.05},
    ]
    assert faults[3] == {"sessionOutcome": "CREATE_FAILED", "random": True, "probability": 0.05}
    # Drawn after CREATE_FAILED missed: 5% of all sessions overall.
    assert faults[4]["sessionOutcome"] == "NEVER_READY"
    assert (1 - 0.05) * faults[4]["probability"] == pytest.approx(0.05)
    # Capacity by type, for the capacity fallback: tried after the mix above.
    assert faults[5]["match"] == {"ec2InstanceType": "g4dn.2xlarge"}
    assert faults[5]["error"] == "ServiceQuotaExceededException"
    assert faults[6]["match"] == {"ec2InstanceType": "g5.xlarge"}
    assert faults[6]["statusCode"] == "INSUFFICIENT_CAPACITY"


# --- cancels and stops, on made-up outcomes ---------------------------------------------------


def intervened(cancels=(), stopped=None) -> dict[str, Submission]:
    accepted = {f"req-{i}": submission(i) for i in range(2)}
    accepted["req-0"].cancels = list(cancels)
    accepted["req-0"].stopped = stopped
    return accepted


def judged(accepted, first_event, first_session, status) -> ChaosReport:
    events = [first_event, event("req-1", "Ready", "s-1")]
    sessions = [s for s in (first_session, session(1, "READY")) if s is not None]
    statuses = {"req-0": {"status": status}, "req-1": {"status": "READY"}}
    report = ChaosReport(requests=2)
    assess(report, accepted, events, statuses, {"sessions": sessions}, set())
    return report


CANCELLED = {"code": "RequestCancelled", "message": "..."}
ABORTED = {"code": "ExecutionAborted", "message": "..."}
DELETED_CLEANUP = {"sessionDeleted": True, "action": "DELETED"}


@pytest.mark.parametrize(
    ("accepted", "first_event", "first_session", "status"),
    [
        (
            intervened([(202, "CANCELLED"), (202, "CANCELLED")]),
            event(
                "req-0", "Failed", "s-0", error=CANCELLED, cancelledBy="anonymous", cleanup=DELETED_CLEANUP
            ),
            session(0, "DELETED"),
            "CANCELLED",
        ),
        (
            intervened([(202, "CANCELLED")]),
            event("req-0", "Failed", None, error=CANCELLED, cancelledBy="anonymous"),
            None,
            "CANCELLED",
        ),
        # READY won the race: the cancel's 202 came first, the second DELETE is a 409.
        (
            intervened([(202, "CANCELLED"), (409, "ConflictException")]),
            event("req-0", "Ready", "s-0"),
            session(0, "READY"),
            "READY",
        ),
        (
            intervened([(409, "ConflictException")]),
            event("req-0", "Ready", "s-0"),
            session(0, "READY"),
            "READY",
        ),
        (
            intervened(stopped="stopped"),
            event("req-0", "Failed", "s-0", error=ABORTED, cleanup=DELETED_CLEANUP),
            session(0, "DELETED"),
            "FAILED",
        ),
        (intervened(stopped="already ended"), event("req-0", "Ready", "s-0"), session(0, "READY"), "READY"),
    ],
    ids=["cancelled-twice", "cancelled-early", "ready-won", "cancel-too-late", "stopped", "stop-too-late"],
)
def test_the_checker_passes_cancels_and_stops_that_kept_the_promise(
    accepted, first_event, first_session, status
):
    report = judged(accepted, first_event, first_session, status)
    assert report.violations == []
    assert report.terminal_events == 2


@pytest.mark.parametrize(
    ("accepted", "first_event", "first_session", "status", "words"),
    [
        (
            intervened([(202, "CANCELLED")]),
            event("req-0", "Failed", "s-0", error={"code": "INSUFFICIENT_CAPACITY", "message": "..."}),
            session(0, "CREATE_FAILED"),
            "FAILED",
            "was cancelled but ended INSUFFICIENT_CAPACITY",
        ),
        (
            intervened(),
            event("req-0", "Failed", None, error=CANCELLED, cancelledBy="anonymous"),
            None,
            "CANCELLED",
            "ended RequestCancelled but was not cancelled",
        ),
        (
            intervened(stopped="stopped"),
            event("req-0", "Failed", "s-0", error=ABORTED, cleanup={"sessionDeleted": False}),
            session(0, "READY"),
            "FAILED",
            "ExecutionAborted, but session s-0 is READY",
        ),
        (
            intervened([(202, "CANCELLED")]),
            event("req-0", "Failed", None, error=CANCELLED),
            None,
            "CANCELLED",
            "cancelled without cancelledBy",
        ),
        (
            intervened([(202, "CANCELLED"), (409, "ConflictException")]),
            event("req-0", "Failed", None, error=CANCELLED, cancelledBy="anonymous"),
            None,
            "CANCELLED",
            "a later DELETE answered 409",
        ),
        (
            intervened([(500, "InternalError")]),
            event("req-0", "Ready", "s-0"),
            session(0, "READY"),
            "READY",
            "cancel answered",
        ),
        (
            intervened([(202, "CANCELLED")]),
            event("req-0", "Failed", None, error=CANCELLED, cancelledBy="anonymous"),
            None,
            "FAILED",
            "status disagrees with the event: req-0",
        ),
    ],
    ids=[
        "cancel-ignored",
        "cancelled-by-nobody",
        "stopped-left-running",
        "no-cancelled-by",
        "409-after-cancel",
        "cancel-5xx",
        "status-not-cancelled",
    ],
)
def test_the_checker_flags_cancels_and_stops_that_broke_it(
    accepted, first_event, first_session, status, words
):
    report = judged(accepted, first_event, first_session, status)
    assert any(words in violation for violation in report.violations), report.violations


def test_the_plan_cancels_a_tenth_some_twice_and_stops_some_directly():
    import random

    from local.chaos.plan import plan_requests

    planned = plan_requests(ChaosConfig(requests=200), random.Random(1))
    cancelled = [p for p in planned if p.cancels]
    assert len(cancelled) == 20
    assert sum(p.cancels == 2 for p in planned) == 6
    assert sum(p.stop for p in planned) == 10
    assert not any(p.stop and p.cancels for p in planned)


def test_a_scheduled_requests_ready_by_counts_from_its_first_send_and_stays_the_same():
    planned = next(p for p in plan_requests(ChaosConfig(requests=200), random.Random(1)) if p.ready_in)
    assert "readyBy" not in planned.body  # not stamped at planning: the plan may be a minute old
    before = datetime.now(tz=UTC).replace(microsecond=0)
    first = body_to_send(planned)["readyBy"]
    sent = datetime.strptime(first, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert sent >= before + timedelta(seconds=int(planned.ready_in))
    assert body_to_send(planned)["readyBy"] == first  # the duplicate and the retries send the same
