"""The scale scenario through moto's ASL engine at a small N, beside the walked path.

Four executions of the real definition (template defaults: the first check a minute after the
create, then every 8 s, 12 checks per PollSession) on one simulated clock, sessions READY 2 to
2.5 minutes after their create. The walked simulation (benchmarks/scale.py) gets the same
sessions, so the two must see the same calls at the same virtual moments.
"""

from __future__ import annotations

import contextlib
import io
import threading
import warnings

import pytest

from benchmarks.scale import ENGINE_METHOD, run_scale, scale_results
from benchmarks.scale_engine import _peak_concurrency, run_scale_engine

SESSIONS = 4
PROVISIONING = (120.0, 150.0)
TOKENS = [f"scale-{index:05d}" for index in range(SESSIONS)]


@pytest.fixture(scope="module")
def runs():
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Powertools' metric warnings
        engine = run_scale_engine(SESSIONS, limited=True, provisioning_range=PROVISIONING)
        walked = run_scale(SESSIONS, limited=True, provisioning_range=PROVISIONING)
    return engine, walked


def test_every_execution_ends_ready_with_one_event_and_no_throttle(runs) -> None:
    engine, _ = runs
    assert engine.outcomes == dict.fromkeys(TOKENS, "READY")
    assert engine.ready_events == dict.fromkeys(TOKENS, 1)
    assert engine.throttled == {}
    assert dict(engine.retries) == {}
    rates = engine.rates  # type: ignore[attr-defined]
    assert 0 < max(engine.per_second("GetStreamingSession")) <= rates["GetStreamingSession"]
    assert 0 < max(engine.per_second("CreateStreamingSession")) <= rates["CreateStreamingSession"]


def test_the_engine_and_the_walked_path_make_the_same_calls_at_the_same_moments(runs) -> None:
    engine, walked = runs
    assert [op for op, _ in engine.calls] == [op for op, _ in walked.calls]
    assert [t for _, t in engine.calls] == pytest.approx([t for _, t in walked.calls], abs=1e-6)
    assert engine.ready_at == pytest.approx(walked.ready_at, abs=1e-6)
    assert engine.published == pytest.approx(walked.published, abs=1e-6)
    assert engine.peak_concurrency == walked.peak_concurrency


def test_the_results_say_the_engine_ran_them(runs) -> None:
    engine, _ = runs
    results = scale_results(engine, engine)
    assert results["engine"] is True
    assert results["ready_events_exactly_once"] is True
    assert results["method"] == ENGINE_METHOD
    assert results["all_ready"] is True


def test_moto_is_left_as_it_was(runs) -> None:
    from moto.stepfunctions.parser.asl.component.program import program
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    assert program.threading is threading
    assert execute_state.Thread is threading.Thread
    assert ExecutionWorker.start.__module__ == "moto.stepfunctions.parser.backend.execution_worker"


def test_peak_concurrency_counts_an_end_before_a_start_at_the_same_moment() -> None:
    assert _peak_concurrency([("a", 0.0, 1.0), ("b", 1.0, 2.0)]) == 1
    assert _peak_concurrency([("a", 0.0, 2.0), ("b", 1.0, 3.0), ("c", 1.5, 1.6)]) == 3
    assert _peak_concurrency([]) == 0
