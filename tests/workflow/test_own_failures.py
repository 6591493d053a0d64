"""Failures of our own parts: EventBridge rejecting the terminal event, a bug in a step, a step
timing out after its side effect went through.

Every case runs at once in one module fixture (real Retry intervals sleep), each with its own
client token; the faults are aimed at it:

* EventBridge: moto's events backend is wrapped to answer a FailedEntry for the case's event
  (once, or always), which the optimized putEvents integration turns into
  ``EventBridge.FailedEntry``;
* a bug: a handler module's logic function is wrapped to raise KeyError for the case's request;
* a timeout: the engine gives CreateSessionFunction a 3 s Timeout (``function_timeouts``), and
  the create logic sleeps past it after the real CreateStreamingSession call, so the engine
  reports ``Sandbox.Timedout`` although the session was made.

The handlers run in the engine's Lambda workers: the logic functions are wrapped there, by the
preload module :mod:`tests.workflow.own_faults`, which shares its fault table (and the counts
asserted here) with this process through a locked JSON file.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from typing import Any

import boto3
import pytest

from local.emulator import EmulatorConfig, start_emulator
from local.engine import ACCOUNT_ID, REGION, EngineError, LocalEngine
from tests.support.reliability import (
    CLEANUP_PATH_END,
    FAILED,
    READY,
    Case,
    Outcome,
    expect_failed_event,
    expect_ready_event,
    run_cases,
)
from tests.support.waiting import wait_until
from tests.support.workflow import (
    ENVIRONMENT,
    LAUNCH_PROFILE,
    PARAMETERS,
    PROVISIONING_SECONDS,
    STUDIO,
    events_for,
    sessions_for_token,
)
from tests.workflow.own_faults import FAULTS_FILE_VARIABLE, SLOW_CREATE_SECONDS_VARIABLE, FaultTable

# A step that raises before adding its metric leaves Powertools nothing to publish: expected here.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

CREATE_TIMEOUT_SECONDS = 3
#: The Lambda-fault retrier's MaxAttempts on CreateSession; PublishReady's retrier's.
LAMBDA_RETRIES = 3
PUBLISH_RETRIES = 5


@pytest.fixture(scope="module")
def emulator():
    with start_emulator(port=0, config=EmulatorConfig(provisioning_seconds=PROVISIONING_SECONDS)) as emu:
        yield emu


@pytest.fixture(scope="module")
def fault_table(tmp_path_factory) -> FaultTable:
    return FaultTable(tmp_path_factory.mktemp("own-faults") / "faults.json")


@pytest.fixture(scope="module")
def engine(emulator, fault_table):
    with LocalEngine(
        parameter_overrides={**PARAMETERS, "NimbleEndpointUrl": emulator.url},
        environment={
            **ENVIRONMENT,
            FAULTS_FILE_VARIABLE: str(fault_table.path),
            SLOW_CREATE_SECONDS_VARIABLE: str(CREATE_TIMEOUT_SECONDS + 0.5),  # past the Timeout
        },
        function_timeouts={"CreateSessionFunction": CREATE_TIMEOUT_SECONDS},
        preload=("tests.workflow.own_faults",),
    ) as running:
        yield running


class Injector:
    """The faults of our own parts, each aimed at one request and counted.

    EventBridge's rejections happen here (moto's events backend lives in this process); the
    bugs and slow creates in the workers, through ``table`` (armed by :meth:`arm`).
    """

    def __init__(self, table: FaultTable) -> None:
        self.table = table
        self._lock = threading.Lock()
        # (requestId, detail-type) -> rejections left (None: always)
        self.rejections: dict[tuple[str, str], int | None] = {}
        self.rejected: Counter[tuple[str, str]] = Counter()
        self.key_errors: dict[tuple[str, str], int | None] = {}  # (step, token) -> raises left
        self.slow_creates: dict[str, int] = {}  # token -> how many first calls run past the timeout

    def arm(self) -> None:
        """Hands the workers' faults to the shared table."""
        self.table.arm(self.key_errors, self.slow_creates)

    @property
    def raised(self) -> Counter[tuple[str, str]]:
        return self.table.raised()

    @property
    def creates(self) -> Counter[str]:
        return self.table.creates()

    def _take(self, table: dict, key: Any, counter: Counter) -> bool:
        with self._lock:
            if key not in table:
                return False
            left = table[key]
            if left is not None:
                if left == 0:
                    return False
                table[key] = left - 1
            counter[key] += 1
            return True

    def put_events(self, original):
        def put_events(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
            answers: list[dict[str, Any] | None] = []
            for entry in entries:
                request_id = json.loads(entry.get("Detail") or "{}").get("requestId")
                if self._take(self.rejections, (request_id, entry.get("DetailType")), self.rejected):
                    answers.append({"ErrorCode": "InternalFailure", "ErrorMessage": "injected by the test"})
                else:
                    answers.append(None)
            passed = iter(original([e for e, a in zip(entries, answers, strict=True) if a is None]))
            return [a if a is not None else next(passed) for a in answers]

        return put_events


@pytest.fixture(scope="module")
def injector(engine, fault_table) -> Any:
    from moto.events.models import events_backends

    injector = Injector(fault_table)
    backend = events_backends[ACCOUNT_ID][REGION]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(backend, "put_events", injector.put_events(backend.put_events))
        yield injector


@pytest.fixture(scope="module")
def cases() -> dict[str, Case]:
    suffix = uuid.uuid4().hex[:10]
    ids = [
        "ready-rejected-once",
        "failed-rejected-once",
        "ready-rejected-always",
        "both-rejected-always",
        "bug-in-validate",
        "bug-in-create",
        "bug-in-poll-once",
        "bug-in-describe",
        "create-timed-out-once",
        "create-timed-out-always",
    ]
    return {case_id: Case(case_id, suffix) for case_id in ids}


@pytest.fixture(scope="module")
def outcomes(engine, emulator, injector, cases) -> dict[str, Outcome]:
    c = cases
    injector.rejections[(c["ready-rejected-once"].name, READY)] = 1
    c["failed-rejected-once"].faults = [
        c["failed-rejected-once"].fault(sessionOutcome="CREATE_FAILED", statusCode="INSUFFICIENT_CAPACITY")
    ]
    injector.rejections[(c["failed-rejected-once"].name, FAILED)] = 1
    injector.rejections[(c["ready-rejected-always"].name, READY)] = None
    # The lost-event sequence: PublishReady's failure is caught (AWS records its TaskStateExited),
    # then PublishFailed runs out of retries: the execution fails with no event at all.
    injector.rejections[(c["both-rejected-always"].name, READY)] = None
    injector.rejections[(c["both-rejected-always"].name, FAILED)] = None
    injector.key_errors[("ValidateRequest", c["bug-in-validate"].token)] = None
    injector.key_errors[("CreateSession", c["bug-in-create"].token)] = None
    injector.key_errors[("PollSession", c["bug-in-poll-once"].token)] = 1
    c["bug-in-describe"].faults = [
        c["bug-in-describe"].fault(sessionOutcome="CREATE_FAILED", statusCode="AMI_VALIDATION_ERROR")
    ]
    injector.key_errors[("DescribeFailure", c["bug-in-describe"].name)] = None
    injector.slow_creates[c["create-timed-out-once"].token] = 1
    # Every CreateSession attempt; FindCreatedSession's call (the next one) answers in time.
    injector.slow_creates[c["create-timed-out-always"].token] = 1 + LAMBDA_RETRIES
    injector.arm()
    return run_cases(engine, emulator, c.values())


# --- EventBridge rejects the terminal event ------------------------------------------------------


def test_a_rejected_ready_event_is_retried_and_published_once(outcomes, injector):
    outcome = outcomes["ready-rejected-once"]
    expect_ready_event(outcome)  # exactly one event
    assert injector.rejected[(outcome.case.name, READY)] == 1
    assert outcome.summary.retries.get("PublishReady") == 1
    assert outcome.history_errors("PublishReady") == ["EventBridge.FailedEntry"]
    # As on AWS, the Cause is the PutEvents response as JSON text (the engine corrects moto here).
    [failed] = [e for e in outcome.history if e["type"] == "TaskFailed"]
    cause = json.loads(failed["taskFailedEventDetails"]["cause"])
    assert cause["FailedEntryCount"] == 1
    assert cause["Entries"] == [{"ErrorCode": "InternalFailure", "ErrorMessage": "injected by the test"}]


def test_a_rejected_failed_event_is_retried_and_published_once(outcomes, injector):
    outcome = outcomes["failed-rejected-once"]
    detail = expect_failed_event(outcome, "INSUFFICIENT_CAPACITY", step="PollSession")
    assert detail["error"]["state"] == "CREATE_FAILED"
    assert injector.rejected[(outcome.case.name, FAILED)] == 1
    assert outcome.summary.retries.get("PublishFailed") == 1
    assert outcome.history_errors("PublishFailed") == ["EventBridge.FailedEntry"]


def test_a_ready_event_that_cannot_be_published_ends_in_a_deleted_session_and_a_failed_event(
    outcomes, injector
):
    outcome = outcomes["ready-rejected-always"]
    detail = expect_failed_event(outcome, "EventBridge.FailedEntry", step="PublishReady")
    assert injector.rejected[(outcome.case.name, READY)] == 1 + PUBLISH_RETRIES
    assert outcome.history_errors("PublishReady") == ["EventBridge.FailedEntry"] * (1 + PUBLISH_RETRIES)
    assert outcome.summary.retries.get("PublishReady") == PUBLISH_RETRIES
    assert outcome.summary.states[-len(CLEANUP_PATH_END) :] == CLEANUP_PATH_END
    # The READY session nobody heard of is not left running: deleted, and the event says so.
    assert detail["cleanup"] == {"sessionDeleted": True, "action": "DELETED"}
    [session] = outcome.sessions
    assert detail["sessionId"] == session["sessionId"]
    assert session["state"] in ("DELETE_IN_PROGRESS", "DELETED")


def test_a_caught_ready_failure_then_an_unpublished_failed_event_is_reconciled_into_one_event(
    outcomes, injector, engine, emulator
):
    from session_provisioning.logic.reconcile import reconcile_execution
    from session_provisioning.nimble.client import nimble_client
    from tests.support.announcements import engine_announcements
    from tests.workflow.test_reconcile import status_change

    outcome = outcomes["both-rejected-always"]
    name = outcome.case.name
    assert outcome.result["status"] == "FAILED"
    assert outcome.result["error"] == "EventBridge.FailedEntry"
    assert outcome.events == []  # the workflow published nothing...
    exits = [e["stateExitedEventDetails"]["name"] for e in outcome.history if "stateExitedEventDetails" in e]
    assert "PublishReady" in exits  # ...although PublishReady was exited (its failure caught)
    assert outcome.history_errors("PublishFailed") == ["EventBridge.FailedEntry"] * (1 + PUBLISH_RETRIES)
    assert outcome.history[-1]["type"] == "ExecutionFailed"  # uncaught: no exit, as on AWS
    assert outcome.history[-2]["type"] == "TaskFailed"

    injector.rejections[(name, FAILED)] = 0  # EventBridge accepts the reconciler's event
    sfn = boto3.client("stepfunctions", region_name=REGION)
    description = sfn.describe_execution(executionArn=outcome.arn)
    # The status-change event's detail carries the execution's error and cause.
    detail = {**status_change(description), "error": description["error"], "cause": description["cause"]}
    result = reconcile_execution(
        detail,
        sfn_client=sfn,
        nimble_client=nimble_client(endpoint_url=emulator.url, region_name=REGION),
        events_client=boto3.client("events", region_name=REGION),
        announcements=engine_announcements(engine),
        claimer="test-invocation",
        event_bus_name=engine.event_bus_name,
        event_source=engine.event_source,
    )

    assert result["action"] == "ANNOUNCED"
    [event] = [e for e in events_for(engine.events(), name) if e["detail-type"] in (READY, FAILED)]
    assert event["detail-type"] == FAILED
    assert event["detail"]["error"]["code"] == "EventBridge.FailedEntry"
    [session] = outcome.sessions
    assert event["detail"]["sessionId"] == session["sessionId"]
    assert sessions_for_token(emulator, outcome.case.token)[0]["state"] in ("DELETE_IN_PROGRESS", "DELETED")


# --- a bug in a step ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case_id", "step", "created"),
    [
        ("bug-in-validate", "ValidateRequest", False),
        ("bug-in-create", "CreateSession", False),
        ("bug-in-poll-once", "PollSession", True),
    ],
)
def test_an_unexpected_exception_ends_in_an_internal_error_event(outcomes, injector, case_id, step, created):
    outcome = outcomes[case_id]
    detail = expect_failed_event(outcome, "InternalError", step=step)
    assert detail["error"]["retryable"] is False
    assert detail["error"]["message"].startswith("KeyError: ")
    assert "injected bug" in detail["error"]["message"]
    # Not retried: a bug does not go away by itself.
    assert outcome.history_errors(step) == ["KeyError"]
    assert injector.raised[(step, outcome.case.token)] == 1
    if created:
        [session] = outcome.sessions
        assert detail["sessionId"] == session["sessionId"]
        assert detail["cleanup"] == {"sessionDeleted": True, "action": "DELETED"}
        assert session["state"] in ("DELETE_IN_PROGRESS", "DELETED")
        assert outcome.summary.states[-len(CLEANUP_PATH_END) :] == CLEANUP_PATH_END
    else:
        assert outcome.sessions == []
        assert "cleanup" not in detail
        assert "DeleteSession" not in outcome.summary.states


def test_a_bug_in_describing_the_failure_still_ends_in_a_failed_event(outcomes, injector):
    outcome = outcomes["bug-in-describe"]
    assert outcome.result["status"] == "FAILED"
    assert outcome.result["error"] == "InternalError"
    assert outcome.event["detail-type"] == FAILED
    detail = outcome.detail
    assert detail["requestId"] == outcome.case.name
    assert detail["error"]["code"] == "InternalError"
    assert detail["error"]["step"] == "DescribeFailure"
    assert injector.raised[("DescribeFailure", outcome.case.name)] == 1
    assert outcome.history_errors("DescribeFailure") == ["KeyError"]
    assert outcome.summary.states[-3:] == ("DescribeUnexpectedFailure", "PublishFailed", "SessionFailed")
    # The session failed on its own (CREATE_FAILED): nothing is left running.
    [session] = outcome.sessions
    assert session["state"] == "CREATE_FAILED"


def test_a_bug_in_describing_the_failure_still_names_the_request(outcomes):
    outcome = outcomes["bug-in-describe"]
    detail = outcome.detail
    assert detail.get("clientToken") == outcome.case.token
    assert detail.get("studioId") == STUDIO
    assert detail.get("launchProfileId") == LAUNCH_PROFILE


def test_a_bug_in_describing_the_failure_of_an_unnamed_request_still_ends_in_a_failed_event(engine, injector):
    """An execution started outside the API, with an input that names nothing the fallback reads:
    the fallback must not stop at a missing member (States.Runtime, past every Catch)."""
    name = f"unnamed-{uuid.uuid4().hex[:10]}"
    injector.key_errors[("DescribeFailure", name)] = None
    injector.arm()
    arn = engine.start_execution({"request": "not a request"}, name=name)
    result = engine.wait(arn, timeout=120)
    assert result["status"] == "FAILED"
    assert result["error"] == "InternalError"
    events = wait_until(
        lambda: [e for e in engine.events() if e["detail"].get("requestId") == name], what="the Failed event"
    )
    [event] = events
    assert event["detail-type"] == FAILED
    assert event["detail"]["error"]["code"] == "InternalError"
    assert event["detail"]["error"]["step"] == "DescribeFailure"


# --- a step that timed out after its side effect went through ------------------------------------


def test_a_create_that_timed_out_after_the_call_went_through_makes_one_session(outcomes, injector):
    outcome = outcomes["create-timed-out-once"]
    detail = expect_ready_event(outcome)
    # Two CreateStreamingSession calls with one token, one session: the retry got the same one.
    assert injector.creates[outcome.case.token] == 2
    assert outcome.history_errors("CreateSession") == ["Sandbox.Timedout"]
    assert outcome.summary.retries.get("CreateSession") == 1
    assert len(outcome.sessions) == 1
    assert detail["sessionId"] == outcome.sessions[0]["sessionId"]


def test_a_create_that_always_timed_out_after_the_call_leaves_no_session_running(outcomes, injector):
    outcome = outcomes["create-timed-out-always"]
    detail = expect_failed_event(outcome, "Sandbox.Timedout", step="CreateSession")
    # Every attempt, then FindCreatedSession's call with the same token: still one session.
    assert injector.creates[outcome.case.token] == 1 + LAMBDA_RETRIES + 1
    assert "FindCreatedSession" in outcome.summary.states
    assert outcome.history_errors("CreateSession") == ["Sandbox.Timedout"] * (1 + LAMBDA_RETRIES)
    [session] = outcome.sessions  # never a second session...
    # ...but it must not be left running unannounced.
    assert session["state"] in ("DELETE_IN_PROGRESS", "DELETED"), session["state"]
    assert detail["cleanup"]["sessionDeleted"] is True


def test_function_timeouts_name_template_functions_and_positive_seconds(engine):
    assert engine.functions["CreateSessionFunction"].timeout == CREATE_TIMEOUT_SECONDS
    # The others keep the template's own.
    template_timeout = int(engine.resolver.function_property("PollSessionFunction", "Timeout", 3))
    assert engine.functions["PollSessionFunction"].timeout == template_timeout
    with pytest.raises(EngineError, match="lacks"):
        LocalEngine(function_timeouts={"NoSuchFunction": 1})
    with pytest.raises(EngineError, match="positive"):
        LocalEngine(function_timeouts={"CreateSessionFunction": 0})
