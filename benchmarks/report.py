"""The results document: its required keys, the machine it came from, and the printed table."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["REQUIRED_KEYS", "format_table", "machine", "missing_keys", "validate"]

#: Dotted keys every results.json has, with the type of each value.
REQUIRED_KEYS: dict[str, type | tuple[type, ...]] = {
    "schema_version": int,
    "generated_at": str,
    "machine.nproc": int,
    "machine.cpu_model": str,
    "machine.memory_gb": (int, float),
    "polling.cost_ratio_vs_waiter": (int, float),
    "polling.max_detection_delay_s": (int, float),
    "polling.scenarios": list,
    "polling.baseline": dict,
    "polling.policy": dict,
    "polling.recommended": dict,
    "polling.tradeoff": list,
    "cold_start.max_ratio_vs_boto3": (int, float),
    "cold_start.max_ratio_vs_boto3_as_built": (int, float),
    "cold_start.functions": dict,
    "cold_start.floor_max_ratio_vs_boto3": (int, float),
    "package.max_mb": (int, float),
    "local.sessions": int,
    "local.all_ready": bool,
    "local.api_p99_ms": (int, float),
    "local.post_p99_ms": (int, float),
    "local.peak_rss_mb": (int, float),
    "scale.requests": int,
    "scale.all_ready": bool,
    "scale.failed_for_throttling": int,
    "scale.max_get_per_s": int,
    "scale.get_limit_per_s": (int, float),
    "scale.nimble_calls_per_session_ratio": (int, float),
    "scale.max_detection_delay_s": (int, float),
    "scale.peak_rss_mb": (int, float),
    "scale.peak_lambda_concurrency": int,
}


def _lookup(document: Mapping[str, Any], dotted: str) -> Any:
    value: Any = document
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(dotted)
        value = value[part]
    return value


def missing_keys(document: Mapping[str, Any], sections: tuple[str, ...] | None = None) -> list[str]:
    """Required keys that are absent or of the wrong type (only ``sections``' when given)."""
    problems = []
    for key, kind in REQUIRED_KEYS.items():
        section = key.split(".", 1)[0]
        if sections is not None and "." in key and section not in sections and section != "machine":
            continue
        try:
            value = _lookup(document, key)
        except KeyError:
            problems.append(f"{key}: missing")
            continue
        if isinstance(value, bool) and kind is not bool:
            problems.append(f"{key}: bool where {kind} is expected")
        elif not isinstance(value, kind):
            problems.append(f"{key}: {type(value).__name__} where {kind} is expected")
    return problems


def validate(document: Mapping[str, Any], sections: tuple[str, ...] | None = None) -> None:
    problems = missing_keys(document, sections)
    if problems:
        raise ValueError("results document: " + "; ".join(problems))


def machine(proc: Path = Path("/proc")) -> dict[str, Any]:
    """nproc, CPU model and memory, from /proc where it exists."""
    cpu_model = platform.processor() or platform.machine()
    memory_gb: float = 0.0
    try:
        for line in (proc / "cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        for line in (proc / "meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
        "cpu_model": cpu_model,
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# --- the printed table ---------------------------------------------------------------------------


def _policy_name(policy: Mapping[str, Any]) -> str:
    return f"{policy['PollInitialWaitSeconds']}/{policy['PollIntervalSeconds']}/{policy['PollChecksPerInvocation']}"


def _polling_lines(polling: Mapping[str, Any]) -> list[str]:
    memory = polling.get("memory_mb", {}).get("PollSessionFunction")
    lines = [
        "POLLING POLICY  (real ASL in moto, virtual clock; cost per 1,000 sessions at list prices; "
        f"PollSession {memory} MB)",
        "  policies as wait/interval/checks-per-poll:  "
        f"baseline {_policy_name(polling['baseline'])} (SDK waiter cadence), "
        f"template default {_policy_name(polling['policy'])}, "
        f"recommended {_policy_name(polling['recommended']['policy'])}",
        f"  {'ready after':>11} | {'baseline':^30} | {'template default':^36} | {'recommended':^36}",
        f"  {'':>11} | {'trans':>5} {'λ':>4} {'$/1000':>8} {'delay':>8} | "
        f"{'trans':>5} {'λ':>4} {'$/1000':>8} {'delay':>8} {'ratio':>6} | "
        f"{'trans':>5} {'λ':>4} {'$/1000':>8} {'delay':>8} {'ratio':>6}",
    ]
    recommended = {row["provisioning_minutes"]: row for row in polling["recommended"]["scenarios"]}
    for row in polling["scenarios"]:
        base, policy = row["baseline"], row["policy"]
        rec = recommended.get(row["provisioning_minutes"])
        line = (
            f"  {row['provisioning_minutes']:>7g} min | "
            f"{base['transitions']:>5} {base['lambda_invocations']:>4} "
            f"{base['cost_per_1000_sessions']['total_usd']:>8.3f} {base['detection_delay_s']:>7.2f}s | "
            f"{policy['transitions']:>5} {policy['lambda_invocations']:>4} "
            f"{policy['cost_per_1000_sessions']['total_usd']:>8.3f} {policy['detection_delay_s']:>7.2f}s "
            f"{row['cost_ratio']:>6.3f} |"
        )
        if rec is not None:
            p = rec["policy"]
            line += (
                f" {p['transitions']:>5} {p['lambda_invocations']:>4} "
                f"{p['cost_per_1000_sessions']['total_usd']:>8.3f} {p['detection_delay_s']:>7.2f}s "
                f"{rec['cost_ratio']:>6.3f}"
            )
        lines.append(line)
    rec = polling["recommended"]
    lines.append(
        f"  template default: cost {polling['cost_ratio_vs_waiter']:.3f}x the waiter (mean over scenarios), "
        f"max delay {polling['max_detection_delay_s']:.2f} s (worst case {polling['max_worst_case_detection_delay_s']:.2f} s)"
        f"  goal {'MET' if polling['goal_met'] else 'NOT met'}"
    )
    lines.append(
        f"  recommended:      cost {rec['cost_ratio_vs_waiter']:.3f}x the waiter (mean over scenarios), "
        f"max delay {rec['max_detection_delay_s']:.2f} s (worst case {rec['max_worst_case_detection_delay_s']:.2f} s)"
        f"  goal {'MET' if rec['goal_met'] else 'NOT met'}"
    )
    for memory_mb, ratio in sorted(rec.get("cost_ratio_if_poll_memory_mb", {}).items()):
        lines.append(f"    with PollSession at {memory_mb} MB: cost {ratio:.3f}x the waiter")
    return lines


def _cold_lines(cold: Mapping[str, Any], package: Mapping[str, Any]) -> list[str]:
    lines = [
        f"COLD START  (init = imports + clients, medians; baseline: {cold['baseline']}; {cold['interpreter']})",
        "  from the zips sam deploy uploads, unpacked as Lambda does (1980 dates, read-only);",
        "  ratio = median over rounds of CPU time vs the baseline run beside it (wall-clock ratio in brackets)",
        f"  {'function':<29} {'as built':>8} {'boto3':>6} {'ratio':>12} | {'before (SAM Python builder)':>27} | {'RSS':>5}",
    ]
    for name, row in cold["functions"].items():
        lines.append(
            f"  {name:<29} {row['init_cpu_ms']:>6.0f}ms {row['baseline_cpu_ms']:>4.0f}ms "
            f"{row['ratio']:>5.2f} ({row.get('wall_ratio', row['ratio']):.2f}) | "
            f"{row.get('before_init_cpu_ms', 0):>9.0f}ms {row.get('before_baseline_cpu_ms', 0):>6.0f}ms "
            f"{row.get('before_ratio', 0):>6.2f}x | {row['init_rss_mb']:>3.0f}MB"
        )
    first = cold.get("api_first_request")
    if first:
        lines.append(
            f"  ApiFunction init + first request: {first['init_and_first_request_cpu_ms']:.0f} ms vs "
            f"{first['baseline_cpu_ms']:.0f} ms (boto3 client + its first call): {first['ratio']:.2f}x"
        )
    floor = cold.get("floor")
    if floor:
        rows = ", ".join(f"{name} {row['ratio']:.2f}x" for name, row in floor["functions"].items())
        lines.append(
            f"  floor (the stack without our code: {rows}; floor_api init + first request "
            f"{floor['api_first_request']['ratio']:.2f}x): max {floor['max_ratio_vs_boto3']:.2f}x"
        )
    goal = cold["max_ratio_vs_boto3_as_built"]
    lines.append(
        f"  max ratio as sam build packages it {goal:.2f}x (goal <= 1.3x: {'MET' if goal <= 1.3 else 'NOT met'})"
        + (
            f"; before {cold['max_ratio_vs_boto3_before']:.2f}x"
            if "max_ratio_vs_boto3_before" in cold
            else ""
        )
    )
    lines.append(
        f"  package: what Lambda unpacks for one function (its folder + the layer) {package['max_mb']:.1f} MB"
        + (f"; before {package['max_mb_before']:.1f} MB" if "max_mb_before" in package else "")
    )
    return lines


def _local_lines(local: Mapping[str, Any]) -> list[str]:
    return [
        f"LOCAL THROUGHPUT  ({local['sessions']} requests, {local['concurrency']} at a time, over HTTP on "
        f"127.0.0.1; emulator READY after {local['provisioning_s']:g} s; polling "
        f"{local['polling']['PollInitialWaitSeconds']}/{local['polling']['PollIntervalSeconds']}"
        f"/{local['polling']['PollChecksPerInvocation']})",
        f"  all READY with exactly one event: {local['all_ready']}   "
        f"all terminal after {local['time_to_all_terminal_s']:.1f} s   "
        f"{local['sessions_per_s']:.2f} sessions/s",
        f"  API latency p50 {local['api_p50_ms']:.0f} ms, p99 {local['api_p99_ms']:.0f} ms  "
        f"(POST p50 {local['post_p50_ms']:.0f} / p99 {local['post_p99_ms']:.0f} ms"
        + (f", p99/p50 {local['post_p99_to_p50']:.1f}" if "post_p99_to_p50" in local else "")
        + "; "
        f"GET p50 {local['get_p50_ms']:.0f} / p99 {local['get_p99_ms']:.0f} ms)   "
        f"peak RSS {local['peak_rss_mb']:.0f} MB"
        + (
            f" + {local['lambda_workers']} Lambda workers {local['lambda_workers_rss_mb']:.0f} MB"
            if "lambda_workers" in local
            else ""
        ),
    ]


def _scale_lines(scale: Mapping[str, Any]) -> list[str]:
    return [
        f"SCALE  ({scale['requests']} executions entering provisioning in one second, emulator rate "
        f"limits on; provisioning {scale['provisioning_range_s'][0]:g}-{scale['provisioning_range_s'][1]:g} s)",
        f"  all READY: {scale['all_ready']}   failed for throttling: {scale['failed_for_throttling']}   "
        f"throttled calls: {sum(scale['throttled_calls'].values())}",
        f"  GetStreamingSession: at most {scale['max_get_per_s']}/s (limit {scale['get_limit_per_s']:g}/s, "
        f"schedule {scale['get_schedule_per_s']:g}/s; without limits {scale['without_limits_max_get_per_s']}/s)",
        f"  Nimble calls per session {scale['nimble_calls_per_session']:.1f} = "
        f"{scale['nimble_calls_per_session_ratio']:.2f}x the run without limits   "
        f"detection delay max {scale['max_detection_delay_s']:.1f} s (mean {scale['mean_detection_delay_s']:.1f} s)",
        f"  peak Lambda concurrency {scale['peak_lambda_concurrency']} "
        f"(without the schedule {scale['peak_lambda_concurrency_without_limits']})   "
        f"peak RSS {scale['peak_rss_mb']:.0f} MB",
    ]


def format_table(results: Mapping[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"make bench - {results['generated_at']} - {m['nproc']} CPUs ({m['cpu_model']}), "
        f"{m['memory_gb']:g} GB, Python {m['python']}",
        "",
    ]
    if "polling" in results:
        lines += [*_polling_lines(results["polling"]), ""]
    if "cold_start" in results:
        lines += [*_cold_lines(results["cold_start"], results["package"]), ""]
    if "local" in results:
        lines += [*_local_lines(results["local"]), ""]
    if "scale" in results:
        lines += [*_scale_lines(results["scale"]), ""]
    return "\n".join(lines)
