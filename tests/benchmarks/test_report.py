"""results.json: its schema, the machine block and the printed table."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from benchmarks import SCHEMA_VERSION
from benchmarks.report import REQUIRED_KEYS, format_table, machine, missing_keys, validate

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results.json"


def _scenario(minutes, transitions, cost, delay):
    return {
        "provisioning_minutes": minutes,
        "transitions": transitions,
        "lambda_invocations": 3,
        "cost_per_1000_sessions": {"total_usd": cost},
        "detection_delay_s": delay,
    }


def _policy(wait, interval, checks):
    return {
        "PollInitialWaitSeconds": wait,
        "PollIntervalSeconds": interval,
        "PollChecksPerInvocation": checks,
    }


def sample() -> dict:
    rows = [
        {
            "provisioning_minutes": 2,
            "baseline": _scenario(2, 40, 1.0, 3.6),
            "policy": _scenario(2, 25, 0.6, 2.1),
            "cost_ratio": 0.6,
        }
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": "2026-11-27T10:00:00Z",
        "machine": {"nproc": 2, "cpu_model": "Test CPU", "memory_gb": 8.0, "python": "3.13.0"},
        "polling": {
            "memory_mb": {"PollSessionFunction": 256},
            "baseline": _policy(10, 10, 1),
            "policy": _policy(60, 10, 1),
            "cost_ratio_vs_waiter": 0.6,
            "max_detection_delay_s": 2.1,
            "max_worst_case_detection_delay_s": 10.4,
            "goal_met": False,
            "scenarios": rows,
            "recommended": {
                "policy": _policy(60, 8, 12),
                "cost_ratio_vs_waiter": 0.4,
                "max_detection_delay_s": 4.7,
                "max_worst_case_detection_delay_s": 8.4,
                "goal_met": True,
                "scenarios": rows,
                "cost_ratio_if_poll_memory_mb": {"128": 0.3},
            },
            "tradeoff": [],
        },
        "cold_start": {
            "max_ratio_vs_boto3": 1.4,
            "max_ratio_vs_boto3_as_built": 1.7,
            "baseline": "import boto3; boto3.client('stepfunctions')",
            "interpreter": "python -I -S -B",
            "functions": {
                "PollSessionFunction": {
                    "init_ms": 300.0,
                    "baseline_ms": 220.0,
                    "init_cpu_ms": 300.0,
                    "baseline_cpu_ms": 220.0,
                    "ratio": 1.36,
                    "before_init_cpu_ms": 900.0,
                    "before_baseline_cpu_ms": 550.0,
                    "before_ratio": 1.64,
                    "init_rss_mb": 56.0,
                }
            },
            "api_first_request": {
                "init_and_first_request_cpu_ms": 330.0,
                "baseline_cpu_ms": 240.0,
                "ratio": 1.38,
            },
            "floor": {
                "functions": {"floor_step": {"ratio": 1.36}, "floor_api": {"ratio": 1.52}},
                "api_first_request": {"ratio": 1.54},
                "max_ratio_vs_boto3": 1.54,
            },
            "floor_max_ratio_vs_boto3": 1.54,
        },
        "package": {"max_mb": 34.7, "max_mb_with_bytecode": 42.6},
        "local": {
            "sessions": 200,
            "concurrency": 50,
            "provisioning_s": 5.0,
            "polling": {
                "PollInitialWaitSeconds": "2",
                "PollIntervalSeconds": "1",
                "PollChecksPerInvocation": "1",
            },
            "all_ready": True,
            "time_to_all_terminal_s": 30.0,
            "sessions_per_s": 6.7,
            "api_p50_ms": 20.0,
            "api_p99_ms": 80.0,
            "post_p50_ms": 30.0,
            "post_p99_ms": 80.0,
            "get_p50_ms": 10.0,
            "get_p99_ms": 20.0,
            "peak_rss_mb": 300.0,
        },
        "scale": {
            "requests": 1000,
            "all_ready": True,
            "failed_for_throttling": 0,
            "throttled_calls": {},
            "max_get_per_s": 16,
            "get_limit_per_s": 20.0,
            "get_schedule_per_s": 16.0,
            "without_limits_max_get_per_s": 125,
            "nimble_calls_per_session": 12.5,
            "nimble_calls_per_session_ratio": 0.4,
            "max_detection_delay_s": 63.0,
            "mean_detection_delay_s": 30.0,
            "peak_lambda_concurrency": 130,
            "peak_lambda_concurrency_without_limits": 1000,
            "peak_rss_mb": 400.0,
            "provisioning_range_s": [120.0, 600.0],
        },
    }


def test_the_table_shows_the_scale_scenario():
    table = format_table(sample())
    assert "SCALE  (1000 executions" in table
    assert "failed for throttling: 0" in table
    assert "at most 16/s (limit 20/s" in table


def test_the_table_shows_the_stacks_floor_beside_the_goal():
    table = format_table(sample())
    assert "floor (the stack without our code: floor_step 1.36x, floor_api 1.52x" in table
    assert "init + first request 1.54x): max 1.54x" in table


def test_a_complete_document_is_valid():
    validate(sample())
    assert missing_keys(sample()) == []


def test_missing_and_mistyped_keys_are_named():
    document = sample()
    del document["polling"]["cost_ratio_vs_waiter"]
    document["local"]["all_ready"] = "yes"
    document["local"]["sessions"] = True  # a bool is not a count
    problems = missing_keys(document)
    assert "polling.cost_ratio_vs_waiter: missing" in problems
    assert any(p.startswith("local.all_ready: str") for p in problems)
    assert any(p.startswith("local.sessions: bool") for p in problems)
    with pytest.raises(ValueError, match=r"polling\.cost_ratio_vs_waiter"):
        validate(document)


def test_only_the_sections_that_ran_are_required():
    document = copy.deepcopy(sample())
    del document["local"]
    del document["cold_start"]
    del document["package"]
    validate(document, sections=("polling",))
    with pytest.raises(ValueError, match=r"local\.sessions"):
        validate(document)


def test_every_required_key_has_a_type():
    assert all(isinstance(kind, type | tuple) for kind in REQUIRED_KEYS.values())
    assert "polling.cost_ratio_vs_waiter" in REQUIRED_KEYS
    assert "cold_start.max_ratio_vs_boto3" in REQUIRED_KEYS
    assert "package.max_mb" in REQUIRED_KEYS
    assert "local.api_p99_ms" in REQUIRED_KEYS


def test_the_table_shows_the_headline_numbers():
    table = format_table(sample())
    assert "2 CPUs (Test CPU), 8 GB" in table
    assert "0.600x the waiter" in table
    assert "0.400x the waiter" in table
    assert "goal MET" in table
    assert "goal NOT met" in table
    assert "with PollSession at 128 MB: cost 0.300x" in table
    assert "max ratio as sam build packages it 1.70x (goal <= 1.3x: NOT met)" in table
    assert (
        "ApiFunction init + first request: 330 ms vs 240 ms (boto3 client + its first call): 1.38x" in table
    )
    assert "p99 80 ms" in table


def test_machine_reads_proc(tmp_path):
    (tmp_path / "cpuinfo").write_text("processor\t: 0\nmodel name\t: Fancy CPU @ 3GHz\n")
    (tmp_path / "meminfo").write_text("MemTotal:       16384000 kB\nMemFree: 1 kB\n")
    info = machine(tmp_path)
    assert info["cpu_model"] == "Fancy CPU @ 3GHz"
    assert info["memory_gb"] == 15.6
    assert info["nproc"] >= 1


def test_machine_without_proc(tmp_path):
    info = machine(tmp_path / "missing")
    assert info["memory_gb"] == 0.0
    assert isinstance(info["cpu_model"], str)


@pytest.mark.skipif(not RESULTS.exists(), reason="make bench has not written results.json")
def test_the_committed_results_match_the_schema():
    document = json.loads(RESULTS.read_text())
    assert document["schema_version"] == SCHEMA_VERSION
    validate(document)


def test_peak_rss_is_this_processes_own():
    from benchmarks.throughput import peak_rss_mb

    assert 10 < peak_rss_mb() < 100_000
