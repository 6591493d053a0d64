"""The event path, its duplicates and the sweep, invoked by hand in every order and at once.

Each invocation is the real ReconcileExecutionFunction in its worker (its role enforced), on a
real execution stopped mid-poll. However they interleave, the request gets exactly one
terminal event and its session is deleted: the announcements table decides who publishes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tests.support.announcements import scheduled_event, stop_while_polling
from tests.support.waiting import wait_until
from tests.support.workflow import events_for, race, sessions_for_token

RECONCILER = "ReconcileExecutionFunction"


def status_change_event(engine, name: str) -> dict[str, Any]:
    """The ABORTED status-change event Step Functions sent for the execution (the engine's sink)."""
    [event] = wait_until(
        lambda: [
            e
            for e in engine.status_events()
            if e["detail"]["name"] == name and e["detail"]["status"] == "ABORTED"
        ],
        what="the status change",
    )
    return event


def event_path(engine, event: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    return lambda: engine.invoke(RECONCILER, event)


def sweep(engine) -> Callable[[], dict[str, Any]]:
    return lambda: engine.invoke(RECONCILER, scheduled_event())


def one_each(*calls: Callable[[], Any]) -> Callable[[], Any]:
    """For race(): each thread takes the next call."""
    pending, lock = list(calls), threading.Lock()

    def call() -> Any:
        with lock:
            chosen = pending.pop()
        return chosen()

    return call


def assert_announced_once(engine, emulator, name: str) -> dict[str, Any]:
    [event] = wait_until(lambda: events_for(engine.events(), name), what="the Failed event")
    assert event["detail-type"] == "Streaming Session Failed"
    assert event["detail"]["error"]["code"] == "ExecutionAborted"
    assert event["detail"]["cleanup"]["sessionDeleted"] is True
    assert sessions_for_token(emulator, name)[0]["state"] in ("DELETE_IN_PROGRESS", "DELETED")
    return event


def announcements(results: list[dict[str, Any]]) -> int:
    """How many of the invocations published (a reconciliation's ANNOUNCED, a sweep's count)."""
    return sum(r.get("action") == "ANNOUNCED" or r.get("reconciled", 0) for r in results)


def test_the_event_path_then_the_sweep(engine, emulator, unique):
    name = f"req-event-first-{unique}"
    stop_while_polling(engine, emulator, name, f"owner-{unique}")
    first = event_path(engine, status_change_event(engine, name))()
    second = sweep(engine)()
    assert first["action"] == "ANNOUNCED"
    assert second["reconciled"] == 0
    assert second["settled"] >= 1
    assert_announced_once(engine, emulator, name)


def test_the_sweep_then_the_event_path(engine, emulator, unique):
    name = f"req-sweep-first-{unique}"
    stop_while_polling(engine, emulator, name, f"owner-{unique}")
    first = sweep(engine)()
    second = event_path(engine, status_change_event(engine, name))()
    assert first["reconciled"] == 1
    assert second == {"action": "NONE", "reason": "the announcements table says PUBLISHED"}
    assert_announced_once(engine, emulator, name)


def test_the_event_path_and_the_sweep_at_once(engine, emulator, unique):
    name = f"req-together-{unique}"
    stop_while_polling(engine, emulator, name, f"owner-{unique}")
    results, errors = race(2, one_each(event_path(engine, status_change_event(engine, name)), sweep(engine)))
    assert errors == []
    assert announcements(results) == 1, results
    assert_announced_once(engine, emulator, name)


def test_a_status_change_event_delivered_three_times_at_once_is_announced_once(engine, emulator, unique):
    name = f"req-duplicate-{unique}"
    stop_while_polling(engine, emulator, name, f"owner-{unique}")
    event = status_change_event(engine, name)
    results, errors = race(3, event_path(engine, event))
    assert errors == []
    assert sorted(r["action"] for r in results) == ["ANNOUNCED", "NONE", "NONE"], results
    assert_announced_once(engine, emulator, name)
    # And once more, later, as EventBridge may redeliver: nothing.
    assert event_path(engine, event)()["action"] == "NONE"
    assert len(events_for(engine.events(), name)) == 1


def test_throttled_reconciliations_still_announce_once_and_delete_the_session(engine, emulator, unique):
    """Throttling aimed at the reconciler's own Nimble Studio calls (after the stop, so the
    workflow's are untouched): its SDK retries absorb it, and the claim keeps one event."""
    name = f"req-throttled-{unique}"
    stop_while_polling(engine, emulator, name, f"owner-{unique}")
    faults = [
        emulator.backend.add_fault(
            operation=operation, error="ThrottlingException", count=3, match={"clientToken": name}
        )
        for operation in ("GetStreamingSession", "DeleteStreamingSession")
    ]
    calls_before = emulator.backend.call_counts
    results, errors = race(
        3,
        one_each(
            event_path(engine, status_change_event(engine, name)),
            event_path(engine, status_change_event(engine, name)),
            sweep(engine),
        ),
    )
    assert errors == []
    assert announcements(results) == 1, results
    assert_announced_once(engine, emulator, name)
    active = {fault["id"] for fault in emulator.backend.faults()}
    assert not {fault["id"] for fault in faults} & active  # every throttle was served
    calls = emulator.backend.call_counts
    assert calls["DeleteStreamingSession"] - calls_before.get("DeleteStreamingSession", 0) >= 4
