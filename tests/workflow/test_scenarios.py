"""Every workflow scenario, against the emulator over HTTP, with the real definition and handlers.

Exhausted retries sleep for real (1 + 2 + 4 + 8 + 16 s at most, with full jitter), so the
scenarios are not run one after the other: ``test_workflow_matrix`` starts them all at once,
each with its own client token and execution name and its faults aimed at it with
``match: {clientToken}``, waits for all, then checks each as a subtest named after it.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from benchmarks.history import HistorySummary, summarize_history
from local.engine import LocalEngine
from tests.support.emulator import SEVEN
from tests.support.workflow import (
    LAUNCH_PROFILE,
    MAX_CHECKS,
    STUDIO,
    Case,
    events_for,
    execution_input,
    race,
    sessions_for_token,
)

HTTP_STATUS = SEVEN
TRANSIENT = ("ThrottlingException", "InternalServerErrorException", "ConflictException")
PERMANENT = tuple(code for code in HTTP_STATUS if code not in TRANSIENT)
#: The step that calls each operation, and the operation.
STEPS = {"CreateSession": "CreateStreamingSession", "PollSession": "GetStreamingSession"}
#: Attempts the ASL's "Transient Nimble Studio errors" retrier allows after the first.
MAX_RETRIES = 5
FAILURE_CODES = ("INSUFFICIENT_CAPACITY", "NETWORK_CONNECTION_ERROR", "AMI_VALIDATION_ERROR")

READY_PATH_START = (
    "ValidateRequest",
    "ScheduleOrStart",
    "ReserveCallSlots",
    "WaitForCreateSlot",
    "CreateSession",
    "WaitBeforeFirstPoll",
    "PollSession",
    "RouteOnSessionState",
)
FAILED_PATH_END = ("DescribeFailure", "TryNextInstanceType", "PublishFailed", "SessionFailed")


@dataclass
class Scenario(Case):
    """A Case with what checks it, and optionally how it starts its execution(s)."""

    check: Callable[[Run], None] = field(kw_only=True)
    #: Starts the execution(s) itself: (engine, emulator, scenario) -> (arn, extra).
    starter: Callable[..., tuple[str, dict[str, Any]]] | None = field(default=None, kw_only=True)


@dataclass
class Run:
    """What one scenario produced, gathered after every execution finished."""

    scenario: Scenario
    engine: LocalEngine
    emulator: Any
    arn: str
    result: dict[str, Any]
    history: list[dict[str, Any]]
    summary: HistorySummary
    events: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    faults: list[dict[str, Any]]
    extra: dict[str, Any]

    @property
    def detail(self) -> dict[str, Any]:
        assert len(self.events) == 1, f"expected one terminal event, got {len(self.events)}: {self.events}"
        return self.events[0]["detail"]


# --- checks -------------------------------------------------------------------------------------


def poll_checks(history: list[dict[str, Any]]) -> list[int]:
    """``checks`` of every successful PollSession result, from the history."""
    checks = []
    for event in history:
        if event["type"] == "LambdaFunctionSucceeded":
            output = json.loads(event["lambdaFunctionSucceededEventDetails"]["output"])
            if "checks" in output:
                checks.append(output["checks"])
    return checks


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def expect_ready(run: Run, retries: dict[str, int] | None = None) -> None:
    scenario, result = run.scenario, run.result
    assert result["status"] == "SUCCEEDED", (result.get("error"), result.get("cause"))

    event = run.events[0] if len(run.events) == 1 else None
    assert event is not None, f"expected exactly one event, got {run.events}"
    assert event["detail-type"] == "Streaming Session Ready"
    assert event["source"] == run.engine.event_source
    assert run.arn in event["resources"]

    assert len(run.sessions) == 1, run.sessions
    session_id = run.sessions[0]["sessionId"]
    assert run.sessions[0]["state"] == "READY"

    detail = event["detail"]
    assert set(detail) == {
        "requestId", "clientToken", "studioId", "launchProfileId", "ownedBy", "sessionId", "session", "timings",
        "ec2InstanceType", "attempts",
    }  # fmt: skip
    (attempt,) = detail["attempts"]
    assert attempt == {
        "index": 0,
        "ec2InstanceType": detail["session"]["ec2InstanceType"]
        if "ec2InstanceType" in scenario.execution_input()["request"]
        else None,
        "clientToken": scenario.token,
        "sessionId": run.sessions[0]["sessionId"],
        "outcome": "READY",
        "code": None,
    }
    assert detail["requestId"] == scenario.name
    assert detail["clientToken"] == scenario.token
    assert detail["studioId"] == STUDIO
    assert detail["launchProfileId"] == LAUNCH_PROFILE
    assert detail["ownedBy"] == scenario.owner
    assert detail["sessionId"] == session_id
    assert detail["session"]["sessionId"] == session_id
    assert detail["session"]["state"] == "READY"
    assert detail["session"]["statusCode"] == "STREAMING_SESSION_READY"
    assert detail["session"]["ownedBy"] == scenario.owner
    timings = detail["timings"]
    assert set(timings) == {"requestedAt", "readyAt", "secondsElapsed"}
    requested, ready = parse_time(timings["requestedAt"]), parse_time(timings["readyAt"])
    assert requested <= ready
    assert timings["secondsElapsed"] == round((ready - requested).total_seconds(), 3)
    assert abs((requested - result["startDate"]).total_seconds()) < 1  # $$.Execution.StartTime
    # The execution's output is the event's detail (OutputPath $.poll.detail).
    assert json.loads(result["output"]) == detail

    states = run.summary.states
    assert states[: len(READY_PATH_START)] == READY_PATH_START, states
    assert states[-1] == "PublishReady", states  # it ends the execution
    loop = states[len(READY_PATH_START) : -1]
    assert loop == ("WaitBetweenPolls", "PollSession", "RouteOnSessionState") * (len(loop) // 3), states
    assert 1 <= run.summary.polls <= MAX_CHECKS
    # One GetStreamingSession per PollSession (checksPerPoll 1): the handler counts the same.
    assert poll_checks(run.history)[-1] == run.summary.polls
    assert run.summary.retries == (retries or {})


def expect_failed(
    run: Run,
    code: str,
    *,
    step: str,
    http_status: int | None = None,
    retryable: bool | None = None,
    state: str | None = None,
    created: bool = True,
    deleted: bool = False,
    cleanup_actions: tuple[str, ...] = ("DELETED",),
    deletion_confirmed: bool = True,
    retries: dict[str, int] | None = None,
) -> dict[str, Any]:
    scenario, result = run.scenario, run.result
    assert result["status"] == "FAILED"
    assert result["error"] == code, result.get("cause")
    cause = json.loads(result["cause"])
    assert cause["error"]["code"] == code

    assert len(run.events) == 1, f"expected exactly one event, got {run.events}"
    event = run.events[0]
    assert event["detail-type"] == "Streaming Session Failed"
    assert event["source"] == run.engine.event_source
    detail = event["detail"]
    assert detail["requestId"] == scenario.name
    assert detail["clientToken"] == scenario.token
    assert detail["studioId"] == STUDIO
    assert detail["ownedBy"] == scenario.owner

    error = detail["error"]
    assert error["code"] == code
    assert error["step"] == step
    assert isinstance(error["message"], str)
    assert error["message"]
    if http_status is not None:
        assert error["httpStatus"] == http_status
    if retryable is not None:
        assert error["retryable"] is retryable
    if state is not None:
        assert error["state"] == state
    else:
        assert "state" not in error

    if created:
        assert len(run.sessions) == 1, run.sessions
        assert detail["sessionId"] == run.sessions[0]["sessionId"]
        assert cause["sessionId"] == run.sessions[0]["sessionId"]
    else:
        assert run.sessions == []
        assert "sessionId" not in detail
    if deleted:
        assert detail["cleanup"]["sessionDeleted"] is deletion_confirmed
        assert detail["cleanup"]["action"] in cleanup_actions
        assert run.sessions[0]["state"] in ("DELETE_IN_PROGRESS", "DELETED")
        assert "DeleteSession" in run.summary.states
    else:
        assert "cleanup" not in detail
        assert "DeleteSession" not in run.summary.states

    assert run.summary.states[-len(FAILED_PATH_END) :] == FAILED_PATH_END, run.summary.states
    assert run.summary.retries == (retries or {})
    assert set(detail["timings"]) == {"requestedAt", "failedAt", "secondsElapsed"}
    return detail


def fired(run: Run, operation: str) -> int | None:
    """How often the scenario's still-active fault rule on ``operation`` fired."""
    for rule in run.faults:
        if rule["operation"] == operation and rule.get("error"):
            return rule["fired"]
    return None


# --- scenarios ----------------------------------------------------------------------------------


def error_scenarios(suffix: str) -> list[Scenario]:
    scenarios = []
    for step, operation in STEPS.items():
        prefix = "create" if step == "CreateSession" else "get"
        created = step == "PollSession"
        for code in TRANSIENT:
            scenario = Scenario(f"{prefix}-{code}-recovers", suffix, check=None)  # type: ignore[arg-type]
            scenario.faults = [scenario.fault(operation=operation, error=code, count=2)]
            scenario.check = lambda run, step=step: expect_ready(run, retries={step: 2})
            scenarios.append(scenario)

            exhausted = Scenario(f"{prefix}-{code}-exhausted", suffix, check=None)  # type: ignore[arg-type]
            exhausted.faults = [exhausted.fault(operation=operation, error=code, count=100)]

            def check_exhausted(run: Run, code=code, step=step, operation=operation, created=created) -> None:
                # With Get failing, DeleteSession can ask for the deletion but not confirm it
                # (its one confirming Get fails too): the event must not claim more.
                get_fails = operation == "GetStreamingSession"
                # With Create failing, FindCreatedSession asks once more with the same token (an
                # attempt might have made a session); here it fails the same way, so nothing exists.
                create_fails = operation == "CreateStreamingSession"
                retries = {step: MAX_RETRIES} | ({"FindCreatedSession": MAX_RETRIES} if create_fails else {})
                expect_failed(
                    run,
                    code,
                    step=step,
                    http_status=HTTP_STATUS[code],
                    retryable=True,
                    created=created,
                    deleted=created,
                    cleanup_actions=("DELETE_REQUESTED",) if get_fails else ("DELETED",),
                    deletion_confirmed=not get_fails,
                    retries=retries,
                )
                assert fired(run, operation) == (1 + MAX_RETRIES) * (1 + create_fails) + get_fails
                assert ("FindCreatedSession" in run.summary.states) is create_fails

            exhausted.check = check_exhausted
            scenarios.append(exhausted)
        for code in PERMANENT:
            scenario = Scenario(f"{prefix}-{code}", suffix, check=None)  # type: ignore[arg-type]
            scenario.faults = [scenario.fault(operation=operation, error=code, count=1)]
            scenario.check = lambda run, code=code, step=step, created=created: expect_failed(
                run,
                code,
                step=step,
                http_status=HTTP_STATUS[code],
                retryable=False,
                created=created,
                deleted=created,
            )
            scenarios.append(scenario)
    return scenarios


def create_failed_scenarios(suffix: str) -> list[Scenario]:
    scenarios = []
    for status_code in FAILURE_CODES:
        scenario = Scenario(f"create-failed-{status_code}", suffix, check=None)  # type: ignore[arg-type]
        scenario.faults = [scenario.fault(sessionOutcome="CREATE_FAILED", statusCode=status_code)]

        def check(run: Run, status_code=status_code) -> None:
            detail = expect_failed(
                run, status_code, step="PollSession", retryable=False, state="CREATE_FAILED", deleted=False
            )
            assert run.sessions[0]["state"] == "CREATE_FAILED"
            assert detail["error"]["message"] == run.sessions[0]["statusMessage"]
            assert detail["session"]["state"] == "CREATE_FAILED"

        scenario.check = check
        scenarios.append(scenario)
    return scenarios


def start_then_delete_elsewhere(engine: LocalEngine, emulator: Any, scenario: Scenario) -> tuple[str, dict]:
    """Starts the execution, then deletes its session behind the workflow's back."""
    arn = engine.start_execution(scenario.execution_input(), name=scenario.name)
    outcome: dict[str, Any] = {}

    def delete_when_created() -> None:
        for _ in range(400):  # bounded: at most ~20 s
            sessions = sessions_for_token(emulator, scenario.token)
            if sessions:
                url = f"{emulator.url}/_emulator/sessions/{sessions[0]['sessionId']}/delete"
                request = urllib.request.Request(url, data=b"{}", method="POST")  # noqa: S310 - loopback
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                    outcome["status"] = response.status
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=delete_when_created, daemon=True)
    watcher.start()
    return arn, {"watcher": watcher, "outcome": outcome}


def start_replays(engine: LocalEngine, emulator: Any, scenario: Scenario) -> tuple[str, dict]:
    """StartExecution with one name and input from many threads at once, then a conflicting input."""
    arns, errors = race(12, lambda: engine.start_execution(scenario.execution_input(), name=scenario.name))

    different = execution_input(scenario.token, scenario.owner, ec2InstanceType="g5.xlarge")
    try:
        engine.start_execution(different, name=scenario.name)
        conflict = None
    except ClientError as error:
        conflict = error.response["Error"]["Code"]
    return (arns[0] if arns else ""), {"arns": arns, "errors": errors, "conflict_while_running": conflict}


def check_replays(run: Run) -> None:
    scenario = run.scenario
    assert run.extra["errors"] == []
    assert set(run.extra["arns"]) == {run.arn}, "same name + same input must give the same execution"
    assert run.extra["conflict_while_running"] == "ExecutionAlreadyExists"
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    executions = sfn.list_executions(stateMachineArn=run.engine.state_machine_arn)["executions"]
    assert [e["executionArn"] for e in executions if e["name"] == scenario.name] == [run.arn]
    # The execution has closed: the same name and input again is refused.
    with pytest.raises(ClientError) as closed:
        run.engine.start_execution(scenario.execution_input(), name=scenario.name)
    assert closed.value.response["Error"]["Code"] == "ExecutionAlreadyExists"
    expect_ready(run)  # one session for the token, one terminal event


def build_scenarios(suffix: str) -> list[Scenario]:
    scenarios = [Scenario("happy", suffix, check=expect_ready)]
    scenarios += error_scenarios(suffix)
    scenarios += create_failed_scenarios(suffix)

    never = Scenario("never-ready", suffix, check=None)  # type: ignore[arg-type]
    never.faults = [never.fault(sessionOutcome="NEVER_READY")]

    def check_never_ready(run: Run) -> None:
        detail = expect_failed(
            run, "SessionNotReadyInTime", step="PollSession", state="CREATE_IN_PROGRESS", deleted=True
        )
        assert run.summary.polls == MAX_CHECKS
        assert poll_checks(run.history)[-1] == MAX_CHECKS
        assert detail["session"]["state"] == "CREATE_IN_PROGRESS"

    never.check = check_never_ready
    scenarios.append(never)

    gone = Scenario("deleted-elsewhere", suffix, check=None, starter=start_then_delete_elsewhere)  # type: ignore[arg-type]
    # Never READY on its own, so the only way out of polling is the deletion.
    gone.faults = [gone.fault(sessionOutcome="NEVER_READY")]

    def check_deleted_elsewhere(run: Run) -> None:
        run.extra["watcher"].join(timeout=30)
        assert run.extra["outcome"].get("status") == 200
        detail = expect_failed(
            run,
            "UnexpectedSessionState",
            step="PollSession",
            retryable=False,
            state="DELETED",
            deleted=True,
            # The workflow's DeleteSession finds it DELETED already.
            cleanup_actions=("DELETED", "ALREADY_GONE"),
        )
        assert run.sessions[0]["state"] == "DELETED"
        assert detail["session"]["state"] == "DELETED"

    gone.check = check_deleted_elsewhere
    scenarios.append(gone)

    invalid = Scenario("invalid-input", suffix, check=None)  # type: ignore[arg-type]
    invalid.input = {
        "studioId": STUDIO,
        "clientToken": invalid.token,
        "request": {
            "launchProfileId": 7,
            "ec2InstanceType": "t2.micro",
            "ownedBy": invalid.owner,
            "bogus": 1,
        },
    }

    def check_invalid(run: Run) -> None:
        detail = expect_failed(
            run,
            "ValidationException",
            step="ValidateRequest",
            http_status=400,
            retryable=False,
            created=False,
        )
        assert detail["error"]["fields"] == [
            "request.launchProfileId",
            "request.ec2InstanceType",
            "request.bogus",
        ]
        for name in detail["error"]["fields"]:
            assert name in detail["error"]["message"]
        assert "launchProfileId" not in detail  # not a string in the input: not echoed
        assert run.summary.states == ("ValidateRequest", *FAILED_PATH_END)

    invalid.check = check_invalid
    scenarios.append(invalid)

    scenarios.append(Scenario("replayed", suffix, check=check_replays, starter=start_replays))
    return scenarios


# --- the test -----------------------------------------------------------------------------------


def test_workflow_matrix(engine, emulator, events_file, subtests, unique):
    scenarios = build_scenarios(unique)
    assert len({s.token for s in scenarios}) == len(scenarios)
    for scenario in scenarios:
        emulator.backend.add_faults(scenario.faults)

    started: list[tuple[Scenario, str, dict[str, Any]]] = []
    for scenario in scenarios:
        if scenario.starter is not None:
            arn, extra = scenario.starter(engine, emulator, scenario)
        else:
            arn, extra = engine.start_execution(scenario.execution_input(), name=scenario.name), {}
        started.append((scenario, arn, extra))

    results = {scenario.id: engine.wait(arn, timeout=180) for scenario, arn, _ in started if arn}
    events = engine.events()
    snapshot_faults = emulator.backend.faults()
    runs = []
    for scenario, arn, extra in started:
        history = engine.history(arn) if arn else []
        runs.append(
            Run(
                scenario=scenario,
                engine=engine,
                emulator=emulator,
                arn=arn,
                result=results.get(scenario.id, {}),
                history=history,
                summary=summarize_history(history),
                events=events_for(events, scenario.name),
                sessions=sessions_for_token(emulator, scenario.token),
                faults=[
                    f for f in snapshot_faults if f.get("match", {}).get("clientToken") == scenario.token
                ],
                extra=extra,
            )
        )

    for run in runs:
        with subtests.test(msg=run.scenario.id):
            run.scenario.check(run)

    with subtests.test(msg="events file: every delivered event once, in EventBridge's target shape"):
        lines = [json.loads(line) for line in events_file.read_text().splitlines()]
        assert lines == engine.events()
        assert len({event["id"] for event in lines}) == len(lines)
        for event in lines:
            assert list(event) == [
                "version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail",
            ]  # fmt: skip
            assert event["account"] == "123456789012"
            assert event["region"] == "us-east-1"
            assert isinstance(event["detail"], dict)
        ours = [e for s in scenarios for e in events_for(lines, s.name)]
        assert len(ours) == len(scenarios)  # exactly one terminal event per scenario
