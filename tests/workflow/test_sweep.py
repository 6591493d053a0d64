"""The sweep on its schedule, as `make run` runs it: the backstop of lost status-change events.

The engine runs the template's rules and its Schedule (every ~2 s here: SweepIntervalMinutes
times ``schedule_scale``), the real reconciler in its worker, the real definition. A test loses
a status-change event on purpose (:func:`local.status_events.dropping`, as AWS may) and the sweep
announces the execution instead: session deleted, exactly one Failed event.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from local.engine import REGION
from local.event_targets import SCHEDULED_EVENT
from local.status_events import DETAIL_TYPE, SOURCE, dropping
from tests.support.announcements import engine_announcements, stop_while_polling
from tests.support.waiting import wait_until
from tests.support.workflow import (
    RECONCILER,
    STUDIO,
    Invocations,
    events_for,
    rules_engine,
    sessions_for_token,
)

SWEEP_EVERY_SECONDS = 2.0


@pytest.fixture(scope="module")
def engine(emulator, events_file, invocations):
    schedule_scale = SWEEP_EVERY_SECONDS / (15 * 60)  # the template's 15 minutes
    with rules_engine(emulator, events_file, invocations, schedule_scale=schedule_scale) as running:
        yield running


def sweeps(invocations: Invocations) -> list[dict[str, Any]]:
    """The reconciler's invocation attempts by the sweep's schedule."""
    return [r for r in invocations.of(RECONCILER) if r["event"]["detail-type"] == SCHEDULED_EVENT]


def sweeps_after(invocations: Invocations, count: int) -> list[dict[str, Any]]:
    """The finished sweep runs once there are more than `count` of them."""
    done = [r for r in sweeps(invocations) if r["lastAttempt"]]
    return done if len(done) > count else []


def test_an_execution_whose_status_change_event_was_lost_is_announced_by_the_sweep(
    engine, emulator, invocations, unique
):
    name = f"req-lost-{unique}"
    with dropping(lambda detail: detail["name"] == name and detail["status"] == "ABORTED") as lost:
        arn = stop_while_polling(engine, emulator, name, f"owner-{unique}")
        wait_until(lambda: lost, what="the lost status change")

    [event] = wait_until(lambda: events_for(engine.events(), name), timeout=60, what="the sweep's event")
    assert event["detail-type"] == "Streaming Session Failed"
    detail = event["detail"]
    assert detail["error"]["code"] == "ExecutionAborted"
    assert (detail["clientToken"], detail["studioId"]) == (name, STUDIO)
    assert detail["cleanup"]["sessionDeleted"] is True
    assert sessions_for_token(emulator, name)[0]["state"] in ("DELETE_IN_PROGRESS", "DELETED")
    # No status-change event reached the reconciler: a sweep run did it, and said so.
    assert invocations.of(RECONCILER, name) == []
    wait_until(
        lambda: [r for r in sweeps(invocations) if not r["failed"] and r["response"]["reconciled"] >= 1],
        what="the sweep run that announced it",
    )
    marker = engine_announcements(engine).client.get_item(
        TableName=engine_announcements(engine).name, Key={"executionArn": {"S": arn}}
    )["Item"]
    assert marker["state"]["S"] == "PUBLISHED"

    # Two more runs find the execution settled by its marker: still one event.
    runs = len([r for r in sweeps(invocations) if r["lastAttempt"]])
    wait_until(lambda: sweeps_after(invocations, runs + 1), what="two more sweep runs")
    assert len(events_for(engine.events(), name)) == 1


def test_a_status_change_event_delivered_after_the_sweep_announced_finds_the_marker(
    engine, emulator, invocations, unique
):
    name = f"req-late-{unique}"
    with dropping(lambda detail: detail["name"] == name and detail["status"] == "ABORTED") as lost:
        stop_while_polling(engine, emulator, name, f"owner-{unique}")
        [late] = wait_until(lambda: lost, what="the lost status change")
    wait_until(lambda: events_for(engine.events(), name), timeout=60, what="the sweep's event")

    # The event arrives after all (AWS: best effort, not necessarily never).
    boto3.client("events", region_name=REGION).put_events(
        Entries=[{"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(late)}]
    )
    [attempt] = wait_until(lambda: invocations.of(RECONCILER, name), what="the late event's reconciliation")
    assert not attempt["failed"], attempt["response"]
    assert attempt["response"] == {"action": "NONE", "reason": "the announcements table says PUBLISHED"}
    assert len(events_for(engine.events(), name)) == 1


def test_an_execution_the_event_path_announced_is_left_to_it_by_every_sweep(
    engine, emulator, invocations, unique
):
    name = f"req-delivered-{unique}"
    stop_while_polling(engine, emulator, name, f"owner-{unique}")
    [attempt] = wait_until(
        lambda: [r for r in invocations.of(RECONCILER, name) if r["lastAttempt"]], what="the event path"
    )
    runs = len([r for r in sweeps(invocations) if r["lastAttempt"]])
    wait_until(lambda: sweeps_after(invocations, runs + 1), what="two more sweep runs")
    events = events_for(engine.events(), name)
    assert len(events) == 1
    # Whichever came first announced it (the event path, unless a sweep ran in between).
    assert attempt["response"]["action"] in ("ANNOUNCED", "NONE")
    assert all(not r["failed"] for r in sweeps(invocations)), [r["response"] for r in sweeps(invocations)]
