"""One request through the real state machine on the virtual clock: the harness end to end.

Provisioning takes 90 virtual seconds; the policy waits 30 s, then checks three times 10 s apart
per PollSession invocation. With the latency model (50 ms per state entered, 100 ms per Lambda
invocation, 50 ms per Nimble call) every instant is known in advance, so this pins down what
the benchmark counts. About a second of real time.
"""

from __future__ import annotations

import pytest

from benchmarks.polling import Policy, VirtualTime, run_policy
from benchmarks.vclock import VirtualClock
from local.emulator import EmulatorConfig, start_emulator


@pytest.fixture(scope="module")
def run():
    clock = VirtualClock(start=1_900_000_000)
    with start_emulator(port=0, config=EmulatorConfig(provisioning_seconds=1)) as emulator:
        emulator.backend.clock = clock.time
        with VirtualTime(clock) as virtual:
            yield run_policy(Policy("test", 30, 10, 3), clock, virtual, emulator, scenario_minutes=(1.5,))


def test_the_request_ends_ready_with_one_event_and_no_retry(run):
    (scenario,) = run.scenarios
    assert scenario.status == "SUCCEEDED"
    assert scenario.ready_events == 1
    assert scenario.retries == 0
    assert run.ok


def test_transitions_invocations_and_checks(run):
    (scenario,) = run.scenarios
    # Validate, ScheduleOrStart, ReserveCallSlots, WaitForCreateSlot, Create, WaitBeforeFirstPoll,
    # 3 x (PollSession, Route), 2 x WaitBetweenPolls, PublishReady (which ends the execution).
    assert scenario.transitions == 15
    assert scenario.polls == 3
    assert scenario.checks == 8  # 3 + 3 + 2: the third invocation's first check comes just before READY
    assert [i.function for i in scenario.invocations] == [
        "ValidateRequestFunction",
        "ReserveCallSlotsFunction",
        "CreateSessionFunction",
        "PollSessionFunction",
        "PollSessionFunction",
        "PollSessionFunction",
    ]
    durations = [round(i.duration_s, 3) for i in scenario.invocations]
    # Two full PollSession invocations: 100 ms + 3 calls of 50 ms + 2 sleeps of 10 s; the third
    # sleeps once: 100 ms + 2 calls + 10 s.
    assert durations == [0.1, 0.1, 0.15, 20.25, 20.25, 10.2]  # rounded: epoch floats carry ~1e-7 s


def test_detection_delay_on_the_virtual_clock(run):
    (scenario,) = run.scenarios
    # Step Functions truncates a Wait's timestamp to the second (local.moto_patches.seconds_until_wake),
    # as the engine does: the first poll's slot (30.2 s) wakes at 30 s, WaitBetweenPolls' (60.x s)
    # at 60 s, the third invocation's at 90 s, its first check a moment before the session is READY
    # (the emulator reports READY to the millisecond); the next check, 10 s later in the same
    # invocation, sees it, and PutEvents follows 0.1 s after.
    assert scenario.detection_delay_s == pytest.approx(9.75, abs=2e-3)
    # Longest gap between checks (10.05 s, across a Wait) plus 0.1 s to publish.
    assert scenario.worst_case_delay_s == pytest.approx(10.15, abs=1e-3)
    assert scenario.end_to_end_s == pytest.approx(100.35, abs=1e-3)
