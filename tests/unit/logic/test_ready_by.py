"""readyBy as plain functions: acceptance, the start time, the one Delayed detail, readyByMet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from session_provisioning.logic.ready_by import (
    delayed_detail,
    provisioning_seconds,
    ready_by_problem,
    ready_by_timings,
    schedule_for,
)
from session_provisioning.logic.steps import validate_request
from session_provisioning.models.session import StreamingSession
from session_provisioning.models.workflow import WorkflowState

NOW = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
READY_BY = "2026-11-27T08:00:00Z"
POLLING = {"initialWaitSeconds": 0, "intervalSeconds": 1, "checksPerPoll": 1, "budgetSeconds": 3}


def state(**schedule) -> WorkflowState:
    return WorkflowState.model_validate(
        {
            "request": {
                "requestId": "req-1",
                "requestedAt": "2026-11-26T18:00:00Z",
                "studioId": "studio-local",
                "clientToken": "shift-0900-ana",
                "launchProfileId": "lp-local",
                "readyBy": READY_BY,
            },
            "created": {
                "sessionId": "session-1",
                "session": {"sessionId": "session-1", "state": "CREATE_IN_PROGRESS"},
            },
            "schedule": {**schedule_for(READY_BY, 900).to_json(), **schedule},
        }
    )


@pytest.mark.parametrize(
    ("ready_by", "problem"),
    [
        (None, None),
        ("2026-11-27T08:00:00Z", None),
        ("2026-11-26T18:00:00Z", "not in the future"),
        ("2026-12-03T18:00:01Z", "more than 7 days ahead"),
    ],
)
def test_a_new_request_needs_ready_by_in_the_next_seven_days(ready_by, problem):
    found = ready_by_problem(ready_by, NOW)
    assert (found is None) if problem is None else (problem in found)


def test_provisioning_starts_the_lead_time_before_ready_by():
    schedule = schedule_for(READY_BY, 900)
    assert schedule.provisioning_starts_at == "2026-11-27T07:45:00Z"


def test_validate_request_writes_the_schedule_for_a_ready_by_request_only():
    execution = {
        "studioId": "s",
        "clientToken": "t",
        "request": {"launchProfileId": "lp", "readyBy": READY_BY},
    }
    event = {
        "requestId": "r",
        "requestedAt": "2026-11-26T18:00:00Z",
        "polling": POLLING,
        "readyByLeadSeconds": 600,
    }
    written = validate_request({**event, "execution": execution})
    assert written["schedule"]["provisioningStartsAt"] == "2026-11-27T07:50:00Z"
    execution["request"].pop("readyBy")
    assert validate_request({**event, "execution": execution})["schedule"] is None


def test_a_delay_is_reported_once_ready_by_passed_and_never_after_it_was_published():
    session = StreamingSession.model_validate({"sessionId": "session-1", "state": "CREATE_IN_PROGRESS"})
    late = datetime(2026, 11, 27, 8, 0, 5, tzinfo=UTC)
    assert delayed_detail(state(), session, late - timedelta(seconds=10)) is None
    detail = delayed_detail(state(), session, late)
    assert detail is not None
    assert (detail["readyBy"], detail["state"], detail["sessionId"]) == (
        READY_BY,
        "CREATE_IN_PROGRESS",
        "session-1",
    )
    assert [(a["index"], a["outcome"]) for a in detail["attempts"]] == [(0, "IN_PROGRESS")]
    assert delayed_detail(state(delayedPublished=True), session, late) is None


def test_ready_by_met_only_when_ready_by_then():
    on_time = datetime(2026, 11, 27, 7, 59, tzinfo=UTC)
    assert ready_by_timings(READY_BY, on_time, ready=True) == {"readyBy": READY_BY, "readyByMet": True}
    assert ready_by_timings(READY_BY, on_time + timedelta(minutes=2), ready=True)["readyByMet"] is False
    assert ready_by_timings(None, on_time, ready=True) == {}


def test_provisioning_seconds_run_from_created_to_ready():
    session = StreamingSession.model_validate(
        {"sessionId": "s", "state": "READY", "createdAt": "2026-11-27T07:45:00Z"}
    )
    assert provisioning_seconds(session, "2026-11-27T07:51:30Z") == 390.0
