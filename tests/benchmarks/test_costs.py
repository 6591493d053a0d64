"""The cost model: list prices and the arithmetic of one request."""

from __future__ import annotations

import pytest

from benchmarks.costs import LIST_PRICES, Invocation, Prices, billed_ms, request_cost


def test_list_prices():
    assert LIST_PRICES.per_transition_usd == pytest.approx(0.000025)
    assert LIST_PRICES.per_lambda_request_usd == pytest.approx(0.0000002)
    assert LIST_PRICES.per_gb_second_usd == 0.0000133334
    assert LIST_PRICES.to_json() == {
        "step_functions_per_1000_transitions_usd": 0.025,
        "lambda_per_1m_requests_usd": 0.2,
        "lambda_arm64_per_gb_second_usd": 0.0000133334,
    }


@pytest.mark.parametrize(
    ("seconds", "ms"),
    [(0.1, 100), (0.15, 150), (0.1004, 101), (0.0000001, 1), (0, 1), (45.4, 45400), (1 / 3, 334)],
)
def test_billed_duration_rounds_up_to_the_millisecond(seconds, ms):
    assert billed_ms(seconds) == ms


def test_a_negative_duration_is_an_error():
    with pytest.raises(ValueError, match="negative"):
        billed_ms(-0.001)
    with pytest.raises(ValueError, match="negative"):
        request_cost(-1, [])


def test_request_cost_by_component():
    invocations = [Invocation("PollSessionFunction", 0.15, 256)] * 12 + [
        Invocation("CreateSessionFunction", 0.15, 256)
    ] * 2
    cost = request_cost(40, invocations)
    assert cost.transitions == 40
    assert cost.invocations == 14
    assert cost.gb_seconds == pytest.approx(14 * 0.15 * 0.25)
    assert cost.transitions_usd == pytest.approx(40 * 0.025 / 1000)
    assert cost.requests_usd == pytest.approx(14 * 0.2 / 1e6)
    assert cost.compute_usd == pytest.approx(14 * 0.15 * 0.25 * 0.0000133334)
    assert cost.total_usd == pytest.approx(cost.transitions_usd + cost.lambda_usd)
    per_1000 = cost.per_1000()
    assert per_1000["step_functions_usd"] == pytest.approx(1.0)
    assert per_1000["total_usd"] == pytest.approx(cost.total_usd * 1000, abs=1e-6)


def test_memory_size_scales_compute_only():
    small = request_cost(10, [Invocation("f", 10, 128)])
    large = request_cost(10, [Invocation("f", 10, 1024)])
    assert large.compute_usd == pytest.approx(8 * small.compute_usd)
    assert large.transitions_usd == small.transitions_usd
    assert large.requests_usd == small.requests_usd


def test_in_lambda_waiting_is_cheaper_than_a_wait_poll_choice_cycle_below_about_600_mb():
    """The design's premise, in numbers: 8 s inside PollSession vs one more loop turn."""
    cycle = request_cost(3, [Invocation("PollSessionFunction", 0.2, 256)])  # Wait + Task + Choice
    for memory_mb, cheaper in ((128, True), (256, True), (512, True), (1024, False)):
        waiting = request_cost(0, [Invocation("PollSessionFunction", 8, memory_mb)])
        assert (waiting.total_usd < cycle.total_usd) is cheaper, memory_mb


def test_other_prices():
    prices = Prices(per_transition_usd=1, per_lambda_request_usd=0, per_gb_second_usd=0)
    assert request_cost(7, [Invocation("f", 1, 128)], prices).total_usd == 7
