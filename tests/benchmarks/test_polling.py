"""The polling benchmark's pure parts: policies, delays, comparisons, and moto's patch points."""

from __future__ import annotations

import pytest

from benchmarks.costs import Invocation
from benchmarks.polling import (
    BASELINE,
    GOAL_COST_RATIO,
    RECOMMENDED,
    Policy,
    PolicyRun,
    ScenarioRun,
    VirtualTime,
    _function_name,
    _worst_case_delay,
    compare,
    summary_point,
)
from benchmarks.vclock import VirtualClock
from local.engine import DEFAULT_TEMPLATE, load_template


def test_the_baseline_is_the_sdk_waiters_cadence():
    assert (BASELINE.initial_wait_s, BASELINE.interval_s, BASELINE.checks_per_poll) == (10, 10, 1)
    assert BASELINE.budget_s == 1800  # 180 attempts x 10 s


def test_policies_are_the_templates_parameters():
    parameters = load_template(DEFAULT_TEMPLATE)["Parameters"]
    policy = Policy.from_template("default", parameters)
    assert policy.parameter_overrides() == {
        name: str(int(float(parameters[name]["Default"])))
        for name in (
            "PollInitialWaitSeconds",
            "PollIntervalSeconds",
            "PollChecksPerInvocation",
            "PollBudgetSeconds",
        )
    }
    checks = parameters["PollChecksPerInvocation"]
    assert int(checks["MinValue"]) <= RECOMMENDED.checks_per_poll <= int(checks["MaxValue"])
    assert RECOMMENDED.to_json()["PollIntervalSeconds"] == RECOMMENDED.interval_s


def test_worst_case_delay_is_the_longest_gap_plus_the_time_to_publish():
    assert _worst_case_delay([30.6, 40.65, 50.7, 61.0], published=61.1, observed=3.0) == pytest.approx(10.4)
    assert _worst_case_delay([30.6], published=30.8, observed=0.5) == 0.5


@pytest.mark.parametrize(
    ("path_part", "name"),
    [
        ("PollSessionFunction", "PollSessionFunction"),
        ("PollSessionFunction:$LATEST", "PollSessionFunction"),
        (
            "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3APollSessionFunction",
            "PollSessionFunction",
        ),
        ("arn:aws:lambda:us-east-1:123456789012:function:Create:$LATEST", "Create"),
    ],
)
def test_function_names_from_invoke_paths(path_part, name):
    assert _function_name(path_part) == name


def _scenario(minutes: float, transitions: int, poll_seconds: float, delay: float) -> ScenarioRun:
    invocations = (Invocation("PollSessionFunction", poll_seconds, 256),)
    return ScenarioRun(
        provisioning_s=minutes * 60,
        status="SUCCEEDED",
        transitions=transitions,
        retries=0,
        polls=1,
        checks=1,
        invocations=invocations,
        max_invocation_s=poll_seconds,
        ready_events=1,
        detection_delay_s=delay,
        worst_case_delay_s=delay + 1,
        end_to_end_s=minutes * 60 + delay,
    )


def _run(policy: Policy, *scenarios: ScenarioRun) -> PolicyRun:
    return PolicyRun(policy, {"PollSessionFunction": 256}, {"PollSessionFunction": 330.0}, scenarios)


def test_compare_takes_the_mean_of_the_per_scenario_ratios():
    baseline = _run(BASELINE, _scenario(2, 40, 0.15, 3), _scenario(20, 400, 0.15, 5))
    candidate = _run(RECOMMENDED, _scenario(2, 20, 0.15, 4), _scenario(20, 100, 0.15, 6))
    result = compare(baseline, candidate)
    first = candidate.scenarios[0].cost.total_usd / baseline.scenarios[0].cost.total_usd
    second = candidate.scenarios[1].cost.total_usd / baseline.scenarios[1].cost.total_usd
    assert result["cost_ratio_vs_waiter"] == pytest.approx((first + second) / 2, abs=1e-4)
    assert first == pytest.approx(0.5, abs=0.01)
    assert second == pytest.approx(0.25, abs=0.01)
    assert result["max_detection_delay_s"] == 6
    assert result["max_worst_case_detection_delay_s"] == 7
    assert result["goal_met"] is True
    assert [row["provisioning_minutes"] for row in result["scenarios"]] == [2, 20]
    point = summary_point(baseline, candidate)
    assert point["cost_ratio_vs_waiter"] == result["cost_ratio_vs_waiter"]
    assert point["PollChecksPerInvocation"] == RECOMMENDED.checks_per_poll


def test_the_goal_needs_both_cost_and_delay_and_every_request_ready_once():
    baseline = _run(BASELINE, _scenario(2, 40, 0.15, 3))
    assert GOAL_COST_RATIO == 0.5
    assert compare(baseline, _run(RECOMMENDED, _scenario(2, 30, 0.15, 3)))["goal_met"] is False
    assert compare(baseline, _run(RECOMMENDED, _scenario(2, 10, 0.15, 12)))["goal_met"] is False
    twice = _scenario(2, 10, 0.15, 3)
    object.__setattr__(twice, "ready_events", 2)
    assert compare(baseline, _run(RECOMMENDED, twice))["goal_met"] is False


def test_an_invocation_longer_than_the_timeout_fails_the_run():
    run = PolicyRun(RECOMMENDED, {}, {"PollSessionFunction": 60.0}, (_scenario(2, 10, 61, 3),))
    assert not run.ok


def test_virtual_time_patches_moto_and_restores_it():
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
    from moto.stepfunctions.parser.backend import execution

    originals = (WaitFunction._wait_interval, CommonStateField._eval_body, execution.datetime)
    clock = VirtualClock(start=1_000)
    with VirtualTime(clock):
        WaitFunction._wait_interval(None, None, 30)
        assert clock.elapsed() == 30
        assert EventManager._get_current_timestamp() == clock.now()
        assert execution.datetime.datetime.now(tz=execution.datetime.timezone.utc) == clock.now()
    assert (WaitFunction._wait_interval, CommonStateField._eval_body, execution.datetime) == originals
