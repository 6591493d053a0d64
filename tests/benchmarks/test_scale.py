"""The scale scenario's harness: the simulated clock, a small morning end to end, the picture."""

from __future__ import annotations

import contextlib
import io
import warnings

import pytest

from benchmarks.scale import run_scale, scale_results
from benchmarks.scale_svg import calls_per_second_svg
from benchmarks.simclock import SimulatedClock


def test_the_simulated_clock_runs_threads_in_time_order() -> None:
    clock = SimulatedClock(100.0)
    seen: list[tuple[float, str]] = []

    def worker(name: str, step: float) -> None:
        for _ in range(3):
            clock.sleep(step)
            seen.append((clock.elapsed(), name))

    clock.spawn(lambda: worker("a", 1.0), "a")
    clock.spawn(lambda: worker("b", 1.5), "b", at=100.25)
    clock.run()
    assert clock.errors == []
    assert seen == [(1.0, "a"), (1.75, "b"), (2.0, "a"), (3.0, "a"), (3.25, "b"), (4.75, "b")]


@pytest.fixture(scope="module")
def morning():
    """Six executions at once with the template's defaults, with and without the limits."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_scale(6, limited=True), run_scale(6, limited=False)


def test_a_small_morning_ends_ready_without_throttling(morning) -> None:
    limited, unlimited = morning
    results = scale_results(limited, unlimited)
    assert results["requests"] == 6
    assert results["all_ready"] is True
    assert results["failed_for_throttling"] == 0
    assert results["throttled_calls"] == {}
    assert results["max_get_per_s"] <= results["get_schedule_per_s"]
    # Few sessions: the schedule never stretches an interval, so the calls are the same.
    assert results["nimble_calls_per_session_ratio"] == pytest.approx(1.0, abs=0.05)
    assert results["max_detection_delay_s"] <= 8.5
    assert results["peak_lambda_concurrency"] <= 6
    assert len(results["get_per_second"]) > 60  # one count per second of the run


def test_the_picture_draws_both_runs_and_both_levels() -> None:
    svg = calls_per_second_svg([1, 16, 16, 3], [40, 120, 5], limit=20, schedule=16, title="t")
    assert svg.startswith("<svg")
    assert svg.rstrip().endswith("</svg>")
    assert svg.count("<polyline") == 2
    assert "the service's limit (20/s, assumed)" in svg
    assert "the schedule's rate (16/s)" in svg
