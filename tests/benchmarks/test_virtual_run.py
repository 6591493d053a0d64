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
    assert scenario.checks == 7  # 3 + 3 + 1
    assert [i.function for i in scenario.invocations] == [
        "ValidateRequestFunction",
        "ReserveCallSlotsFunction",
        "CreateSessionFunction",
        "PollSessionFunction",
        "PollSessionFunction",
        "PollSessionFunction",
    ]
    durations = [round(i.duration_s, 3) for i in scenario.invocations]
    # Two full PollSession invocations: 100 ms + 3 calls of 50 ms + 2 sleeps of 10 s.
    assert durations == [0.1, 0.1, 0.15, 20.25, 20.25, 0.15]  # rounded: epoch floats carry ~1e-7 s


def test_detection_delay_on_the_virtual_clock(run):
    (scenario,) = run.scenarios
    # Slots reserved at 0.2 s (create) and 30.2 s (first poll); created at 0.55 s (READY at
    # 90.55 s). Each next check is reserved 10 s after the one before: in the Lambda, and across
    # WaitBetweenPolls (its slot waited for exactly). The check at 91.1 s sees READY; PutEvents
    # at 91.2 s. (The emulator reports READY to the millisecond.)
    assert scenario.detection_delay_s == pytest.approx(0.65, abs=2e-3)
    # Longest gap between checks (10.2 s, across a Wait) plus 0.1 s to publish.
    assert scenario.worst_case_delay_s == pytest.approx(10.3, abs=1e-3)
    # 0.05 s more than without readyBy: the ScheduleOrStart Choice's transition, before Create.
    assert scenario.end_to_end_s == pytest.approx(91.25, abs=1e-3)
