"""Helpers of the reliability tests: start many executions at once, then read what each produced.

Real Retry intervals sleep (1 s base, backoff 2, full jitter), so scenarios are started
together, each with its own client token and execution name (faults aimed at it with
``match: {clientToken}``), and checked once all have finished.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from benchmarks.history import HistorySummary, summarize_history
from local.engine import LocalEngine
from tests.support.workflow import STUDIO, Case, events_for, sessions_for_token

READY = "Streaming Session Ready"
FAILED = "Streaming Session Failed"
FAILED_PATH_END = ("DescribeFailure", "TryNextInstanceType", "PublishFailed", "SessionFailed")
CLEANUP_PATH_END = ("DeleteSession", *FAILED_PATH_END)


@dataclass
class Outcome:
    """What one execution left behind: its result, history, events and sessions."""

    case: Case
    arn: str
    result: dict[str, Any]
    history: list[dict[str, Any]]
    summary: HistorySummary
    events: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    faults: list[dict[str, Any]]

    @property
    def event(self) -> dict[str, Any]:
        assert len(self.events) == 1, f"expected exactly one terminal event, got {self.events}"
        return self.events[0]

    @property
    def detail(self) -> dict[str, Any]:
        return self.event["detail"]

    @property
    def cause(self) -> dict[str, Any]:
        return json.loads(self.result["cause"])

    def history_errors(self, state: str) -> list[str]:
        """The error names of the failed attempts of a Task state, in order (from the history)."""
        errors, current = [], None
        for event in self.history:
            if event["type"].endswith("StateEntered"):
                current = event["stateEnteredEventDetails"]["name"]
            for key in ("lambdaFunctionFailedEventDetails", "taskFailedEventDetails"):
                if key in event and current == state:
                    errors.append(event[key].get("error"))
        return errors


def run_cases(
    engine: LocalEngine, emulator: Any, cases: Iterable[Case], timeout: float = 150
) -> dict[str, Outcome]:
    """Installs every case's faults, starts all executions, waits for all; outcomes by case id."""
    cases = list(cases)
    assert len({case.token for case in cases}) == len(cases)
    for case in cases:
        if case.faults:
            emulator.backend.add_faults(case.faults)
    started = [(case, engine.start_execution(case.execution_input(), name=case.name)) for case in cases]
    return collect(engine, emulator, started, timeout)


def collect(
    engine: LocalEngine, emulator: Any, started: Iterable[tuple[Case, str]], timeout: float = 150
) -> dict[str, Outcome]:
    started = list(started)
    results = {case.id: engine.wait(arn, timeout=timeout) for case, arn in started}
    events = engine.events()
    faults = emulator.backend.faults()
    outcomes = {}
    for case, arn in started:
        history = engine.history(arn)
        outcomes[case.id] = Outcome(
            case=case,
            arn=arn,
            result=results[case.id],
            history=history,
            summary=summarize_history(history),
            events=[e for e in events_for(events, case.name) if e["detail-type"] in (READY, FAILED)],
            sessions=sessions_for_token(emulator, case.token),
            faults=[f for f in faults if f.get("match", {}).get("clientToken") == case.token],
        )
    return outcomes


def expect_failed_event(outcome: Outcome, code: str, *, step: str | None = None) -> dict[str, Any]:
    """Exactly one Failed event naming this request, with ``code``; the execution FAILED with it too."""
    assert outcome.result["status"] == "FAILED", outcome.result
    assert outcome.result["error"] == code, outcome.result.get("cause")
    event = outcome.event
    assert event["detail-type"] == FAILED
    assert outcome.arn in event["resources"]
    detail = event["detail"]
    assert detail["requestId"] == outcome.case.name
    assert detail["clientToken"] == outcome.case.token
    assert detail["studioId"] == STUDIO
    assert detail["error"]["code"] == code
    assert isinstance(detail["error"]["message"], str)
    assert detail["error"]["message"]
    if step is not None:
        assert detail["error"]["step"] == step
    assert outcome.cause["error"]["code"] == code
    assert outcome.summary.states[-len(FAILED_PATH_END) :] == FAILED_PATH_END, outcome.summary.states
    return detail


def expect_ready_event(outcome: Outcome) -> dict[str, Any]:
    assert outcome.result["status"] == "SUCCEEDED", (outcome.result.get("error"), outcome.result.get("cause"))
    event = outcome.event
    assert event["detail-type"] == READY
    detail = event["detail"]
    assert detail["requestId"] == outcome.case.name
    assert detail["clientToken"] == outcome.case.token
    assert len(outcome.sessions) == 1, outcome.sessions
    assert detail["sessionId"] == outcome.sessions[0]["sessionId"]
    assert outcome.sessions[0]["state"] == "READY"
    # PublishReady ends the execution (no Succeed state after it: one transition less).
    assert outcome.summary.states[-1] == "PublishReady", outcome.summary.states
    return detail
