"""readyBy on the real definition, through ApiFunction: SCHEDULED with nothing created until the
start time, then provisioned; one Delayed event when readyBy passes first; a SCHEDULED request
cancelled creates nothing. The reconciler runs on status changes, as under `make run`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from session_provisioning.models.request import READY_BY_FORMAT
from tests.support.api import valid_body
from tests.support.reliability import FAILED, READY
from tests.support.waiting import wait_until
from tests.support.workflow import events_for, rules_engine, sessions_for_token

DELAYED = "Streaming Session Delayed"
# Provisioning starts this long before readyBy; the emulator makes a session READY in 1 s.
LEAD_SECONDS = 6


@pytest.fixture(scope="module")
def engine(emulator, events_file):
    with rules_engine(emulator, events_file, parameters={"ReadyByLeadSeconds": str(LEAD_SECONDS)}) as running:
        yield running


def ready_by(seconds_from_now: float) -> str:
    return (datetime.now(tz=UTC) + timedelta(seconds=seconds_from_now)).strftime(READY_BY_FORMAT)


def test_a_scheduled_request_creates_nothing_before_its_start_then_becomes_ready(
    api, engine, emulator, token
):
    # 15 s of SCHEDULED: room for a cold ValidateRequest on a busy machine.
    asked = ready_by(LEAD_SECONDS + 15)
    request_id = api.create(valid_body(readyBy=asked), token=token).body["requestId"]
    assert api.status(request_id).body["status"] in ("IN_PROGRESS", "SCHEDULED")
    scheduled = wait_until(
        lambda: (body := api.status(request_id).body)["status"] == "SCHEDULED" and body, what="SCHEDULED"
    )
    starts_at = datetime.strptime(asked, READY_BY_FORMAT) - timedelta(seconds=LEAD_SECONDS)
    assert scheduled["provisioningStartsAt"] == starts_at.strftime(READY_BY_FORMAT)
    assert sessions_for_token(emulator, token) == []

    final = api.wait_until_done(request_id, timeout=90)[-1].body
    assert final["status"] == "READY"
    (session,) = sessions_for_token(emulator, token)
    created = datetime.fromisoformat(session["createdAt"].replace("Z", "+00:00")).replace(tzinfo=None)
    assert created >= starts_at  # nothing was created before the start time
    (event,) = wait_until(lambda: events_for(engine.events(), request_id), what="the Ready event")
    assert event["detail-type"] == READY
    assert event["detail"]["timings"]["readyBy"] == asked
    assert event["detail"]["timings"]["readyByMet"] is True


def test_a_request_that_cannot_be_ready_in_time_gets_one_delayed_event(api, engine, emulator, token):
    emulator.backend.add_fault(session_outcome="NEVER_READY", match={"clientToken": token})
    asked = ready_by(2)  # already inside the lead time: provisioning starts at once
    request_id = api.create(valid_body(readyBy=asked), token=token).body["requestId"]
    # While it runs, GET lists the attempt so far, with its session once created.
    running = wait_until(
        lambda: (
            (body := api.status(request_id).body)["status"] == "IN_PROGRESS"
            and (body["attempts"] or [{}])[0].get("sessionId")
            and body
        ),
        what="the attempt in progress",
    )
    assert [(a["index"], a["outcome"], a["clientToken"]) for a in running["attempts"]] == [
        (0, "IN_PROGRESS", token)
    ]
    assert api.wait_until_done(request_id, timeout=90)[-1].body["status"] == "FAILED"
    events = wait_until(
        lambda: (found := events_for(engine.events(), request_id)) and len(found) >= 2 and found,
        what="the Delayed and Failed events",
    )
    assert [event["detail-type"] for event in events] == [DELAYED, FAILED]
    delayed, failed = (event["detail"] for event in events)
    assert delayed["readyBy"] == asked
    assert delayed["state"] == "CREATE_IN_PROGRESS"
    assert delayed["sessionId"] == failed["sessionId"]
    assert [a["outcome"] for a in delayed["attempts"]] == ["IN_PROGRESS"]
    assert failed["error"]["code"] == "SessionNotReadyInTime"
    assert failed["timings"]["readyBy"] == asked
    assert failed["timings"]["readyByMet"] is False


def test_a_scheduled_request_cancelled_ends_cancelled_and_never_creates_a_session(
    api, engine, emulator, token
):
    asked = ready_by(LEAD_SECONDS + 120)
    request_id = api.create(valid_body(readyBy=asked), token=token).body["requestId"]
    wait_until(lambda: api.status(request_id).body["status"] == "SCHEDULED", what="SCHEDULED")
    reply = api.call("DELETE", f"/studios/studio-local/streaming-sessions/requests/{request_id}")
    assert reply.status == 202, reply
    assert reply.body["status"] == "CANCELLED"
    (event,) = wait_until(
        lambda: events_for(engine.events(), request_id), timeout=60, what="the Failed event"
    )
    assert event["detail"]["error"]["code"] == "RequestCancelled"
    assert "sessionId" not in event["detail"]
    # The reconciler's event says readyBy too, as the workflow's own terminal events do.
    assert (event["detail"]["timings"]["readyBy"], event["detail"]["timings"]["readyByMet"]) == (asked, False)
    assert sessions_for_token(emulator, token) == []
    assert api.status(request_id).body["status"] == "CANCELLED"


@pytest.mark.parametrize(
    ("offset", "why"), [(-60, "not in the future"), (8 * 24 * 3600, "more than 7 days ahead")]
)
def test_a_new_request_needs_ready_by_within_the_next_seven_days(api, token, offset, why):
    reply = api.create(valid_body(readyBy=ready_by(offset)), token=token)
    assert reply.status == 400, reply
    assert reply.body["code"] == "ValidationException"
    assert reply.body["fields"] == ["readyBy"]
    assert why in reply.body["message"]
