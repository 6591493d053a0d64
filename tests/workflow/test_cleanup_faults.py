"""DeleteStreamingSession faults while the workflow cleans up a session that will never be READY.

The fault matrix of tests/workflow/test_scenarios.py covers Create and Get; this completes it
for Delete. Every case gets a session that never becomes READY (so the poll budget runs out
and DeleteSession runs), plus faults on its DeleteStreamingSession calls:

* transient (Throttling, InternalServerError, Conflict) twice, then success: retried, cleanup
  DELETED, and the event still carries the cause (SessionNotReadyInTime);
* transient for ever: the retrier gives up after 6 retries; cleanup DELETE_FAILED, reported;
* permanent (AccessDenied, Validation, ServiceQuotaExceeded): no retry; DELETE_FAILED, reported;
* ResourceNotFound: the session is gone already: ALREADY_GONE;
* cleanup after a Get error (the other way into DeleteSession) with one throttled delete;
* the delete is accepted but the session ends DELETE_FAILED: asked again, and "deleted" is
  said only once Nimble shows DELETED (else DELETE_REQUESTED, sessionDeleted false).
"""

from __future__ import annotations

import pytest

from local.emulator import EmulatorConfig, start_emulator
from local.engine import LocalEngine
from tests.support.reliability import CLEANUP_PATH_END, Case, Outcome, expect_failed_event, run_cases
from tests.support.workflow import ENVIRONMENT, MAX_CHECKS, PARAMETERS, PROVISIONING_SECONDS

TRANSIENT = ("ThrottlingException", "InternalServerErrorException", "ConflictException")
PERMANENT = ("AccessDeniedException", "ValidationException", "ServiceQuotaExceededException")
#: The DeleteSession retrier's MaxAttempts.
DELETE_RETRIES = 6
DELETE = "DeleteStreamingSession"


@pytest.fixture(scope="module")
def emulator():
    with start_emulator(port=0, config=EmulatorConfig(provisioning_seconds=PROVISIONING_SECONDS)) as emu:
        yield emu


@pytest.fixture(scope="module")
def engine(emulator):
    with LocalEngine(
        parameter_overrides={**PARAMETERS, "NimbleEndpointUrl": emulator.url}, environment=ENVIRONMENT
    ) as running:
        yield running


def never_ready(case: Case, *delete_faults: dict) -> Case:
    case.faults = [case.fault(sessionOutcome="NEVER_READY"), *delete_faults]
    return case


def expect_timed_out_with_cleanup(outcome: Outcome, *, deleted: bool, action: str, retries: int) -> dict:
    detail = expect_failed_event(outcome, "SessionNotReadyInTime", step="PollSession")
    # The cause stays the cause; what became of the session is the cleanup's story.
    assert detail["error"]["state"] == "CREATE_IN_PROGRESS"
    assert len(outcome.sessions) == 1
    assert detail["sessionId"] == outcome.sessions[0]["sessionId"]
    cleanup = detail["cleanup"]
    assert cleanup["sessionDeleted"] is deleted
    assert cleanup["action"] == action
    assert outcome.cause["cleanup"] == cleanup  # the execution's Cause tells the same story
    states = outcome.summary.states
    assert states[-len(CLEANUP_PATH_END) :] == CLEANUP_PATH_END, states
    assert states.count("DeleteSession") == 1
    assert outcome.summary.polls == MAX_CHECKS
    assert outcome.summary.retries == ({"DeleteSession": retries} if retries else {})
    # A DELETE_FAILED cleanup is the step failing (for good: once more than it was retried).
    assert len(outcome.history_errors("DeleteSession")) == retries + (action == "DELETE_FAILED")
    return cleanup


def test_delete_faults_during_cleanup(engine, emulator, unique, subtests):
    cases: dict[str, Case] = {}
    for code in TRANSIENT:
        case = Case(f"delete-{code}-recovers", unique)
        cases[case.id] = never_ready(case, case.fault(operation=DELETE, error=code, count=2))
    exhausted = Case("delete-throttled-for-ever", unique)
    cases[exhausted.id] = never_ready(
        exhausted, exhausted.fault(operation=DELETE, error="ThrottlingException")
    )
    for code in PERMANENT:
        case = Case(f"delete-{code}", unique)
        cases[case.id] = never_ready(case, case.fault(operation=DELETE, error=code, count=1))
    gone = Case("delete-not-found", unique)
    cases[gone.id] = never_ready(
        gone, gone.fault(operation=DELETE, error="ResourceNotFoundException", count=1)
    )
    after_get = Case("delete-after-get-error", unique)
    after_get.faults = [
        after_get.fault(operation="GetStreamingSession", error="AccessDeniedException", count=1),
        after_get.fault(operation=DELETE, error="ThrottlingException", count=1),
    ]
    cases[after_get.id] = after_get
    # Nimble accepts the delete, then the session ends DELETE_FAILED (once, or every time).
    fails_once = never_ready(Case("delete-fails-once", unique))
    fails_once.faults.append(
        fails_once.fault(sessionOutcome="DELETE_FAILED", statusCode="INTERNAL_ERROR", count=1)
    )
    cases[fails_once.id] = fails_once
    fails_always = never_ready(Case("delete-fails-always", unique))
    fails_always.faults.append(
        fails_always.fault(sessionOutcome="DELETE_FAILED", statusCode="INTERNAL_ERROR")
    )
    cases[fails_always.id] = fails_always

    outcomes = run_cases(engine, emulator, cases.values())

    for code in TRANSIENT:
        with subtests.test(msg=f"{code} twice, then deleted"):
            outcome = outcomes[f"delete-{code}-recovers"]
            expect_timed_out_with_cleanup(outcome, deleted=True, action="DELETED", retries=2)
            assert outcome.history_errors("DeleteSession") == [code, code]
            assert outcome.sessions[0]["state"] in ("DELETE_IN_PROGRESS", "DELETED")
            assert not [f for f in outcome.faults if f["operation"] == DELETE]  # both firings used

    with subtests.test(msg="throttled for ever: DELETE_FAILED after the last retry"):
        outcome = outcomes[exhausted.id]
        cleanup = expect_timed_out_with_cleanup(
            outcome, deleted=False, action="DELETE_FAILED", retries=DELETE_RETRIES
        )
        assert cleanup["message"].startswith("ThrottlingException: ")
        assert outcome.history_errors("DeleteSession") == ["ThrottlingException"] * (1 + DELETE_RETRIES)
        [rule] = [f for f in outcome.faults if f["operation"] == DELETE]
        assert rule["fired"] == 1 + DELETE_RETRIES
        # Best effort: the session could not be deleted, and the event says so.
        assert outcome.sessions[0]["state"] == "CREATE_IN_PROGRESS"

    for code in PERMANENT:
        with subtests.test(msg=f"{code}: DELETE_FAILED without a retry"):
            outcome = outcomes[f"delete-{code}"]
            cleanup = expect_timed_out_with_cleanup(outcome, deleted=False, action="DELETE_FAILED", retries=0)
            assert cleanup["message"].startswith(f"{code}: ")
            assert outcome.history_errors("DeleteSession") == [code]
            assert outcome.sessions[0]["state"] == "CREATE_IN_PROGRESS"

    with subtests.test(msg="ResourceNotFound on delete: already gone"):
        outcome = outcomes[gone.id]
        expect_timed_out_with_cleanup(outcome, deleted=True, action="ALREADY_GONE", retries=0)

    with subtests.test(msg="Get failed, then the cleanup's delete was throttled once"):
        outcome = outcomes[after_get.id]
        detail = expect_failed_event(outcome, "AccessDeniedException", step="PollSession")
        assert detail["error"]["httpStatus"] == 403
        assert detail["cleanup"] == {"sessionDeleted": True, "action": "DELETED"}
        assert outcome.summary.retries == {"DeleteSession": 1}
        assert outcome.summary.states[-len(CLEANUP_PATH_END) :] == CLEANUP_PATH_END
        assert outcome.sessions[0]["state"] in ("DELETE_IN_PROGRESS", "DELETED")

    with subtests.test(msg="the deletion failed once: asked again, confirmed DELETED"):
        outcome = outcomes[fails_once.id]
        cleanup = expect_timed_out_with_cleanup(outcome, deleted=True, action="DELETED", retries=0)
        assert "message" not in cleanup
        assert outcome.sessions[0]["state"] == "DELETED"  # confirmed, not just asked for

    with subtests.test(msg="the deletion fails every time: never claimed, DELETE_REQUESTED"):
        outcome = outcomes[fails_always.id]
        cleanup = expect_timed_out_with_cleanup(outcome, deleted=False, action="DELETE_REQUESTED", retries=0)
        assert "DELETE_FAILED" in cleanup["message"]
        assert outcome.sessions[0]["state"] == "DELETE_FAILED"  # as the event says: not deleted
