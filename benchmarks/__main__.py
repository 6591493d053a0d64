"""``make bench``: polling cost, cold start, local throughput and the 1,000-session morning.

    PYTHONPATH=functions:. .venv/bin/python -m benchmarks [--only polling,cold,local,scale] [--quick]

Prints a table and writes ``benchmarks/results.json``, ``benchmarks/tradeoff.svg`` and
``benchmarks/scale.svg``. ``--keep`` starts from the existing results.json and replaces only
the sections run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import SCHEMA_VERSION
from benchmarks.report import format_table, machine, validate
from benchmarks.svg import Marker, Series, tradeoff_svg

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
SECTIONS = ("polling", "cold", "local", "scale")


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def polling_section(quick: bool) -> dict[str, Any]:
    from benchmarks.polling import RECOMMENDED, Policy, run_polling_benchmark
    from local.engine import load_template

    parameters = load_template(ROOT / "template.yaml")["Parameters"]
    template_policy = Policy.from_template("template-default", parameters)
    options: dict[str, Any] = {}
    if quick:
        options = {"scenario_minutes": (2, 5), "sweep_intervals": (8, 15), "sweep_checks": (1, 6)}
    return run_polling_benchmark(template_policy, recommended=RECOMMENDED, log=log, **options)


def write_tradeoff_svg(polling: dict[str, Any], path: Path) -> None:
    series: dict[int, list[tuple[float, float, str]]] = {}
    fewest_checks = min((p["PollChecksPerInvocation"] for p in polling["tradeoff"]), default=1)
    for point in polling["tradeoff"]:
        # The worst-case delay depends on the interval only: one labelled series names the column.
        label = (
            f"{point['PollIntervalSeconds']} s" if point["PollChecksPerInvocation"] == fewest_checks else ""
        )
        series.setdefault(point["PollChecksPerInvocation"], []).append(
            (point["max_worst_case_detection_delay_s"], point["cost_ratio_vs_waiter"], label)
        )
    markers = polling["tradeoff_markers"]

    def marker(name: str, key: str, shape: str) -> Marker:
        point = markers[key]
        label = (
            f"{name} {point['PollInitialWaitSeconds']}/{point['PollIntervalSeconds']}"
            f"/{point['PollChecksPerInvocation']}"
        )
        return Marker(label, point["max_worst_case_detection_delay_s"], point["cost_ratio_vs_waiter"], shape)

    wait = polling["recommended"]["policy"]["PollInitialWaitSeconds"]
    memory = polling["memory_mb"].get("PollSessionFunction")
    svg = tradeoff_svg(
        [
            Series(f"{checks} check{'s' if checks > 1 else ''}/poll", points)
            for checks, points in sorted(series.items())
        ],
        [
            marker("SDK waiter", "baseline", "square"),
            marker("template", "template_default", "diamond"),
            marker("recommended", "recommended", "star"),
        ],
        title=f"Polling: cost vs detection delay (initial wait {wait} s, PollSession {memory} MB)",
        x_label="worst-case READY-to-event delay (s); labels: PollIntervalSeconds, the same for every series",
        y_label="cost vs the SDK waiter's cadence (mean over 2/5/10/20 min)",
        goal=(10.0, 0.5),
    )
    path.write_text(svg, encoding="utf-8")


def cold_section(quick: bool) -> dict[str, Any]:
    from benchmarks.coldstart import run_cold_start

    return run_cold_start(
        ROOT / ".aws-sam" / "bench-build",
        sam=ROOT / ".venv-sam" / "bin" / "sam",
        venv_bin=Path(sys.executable).parent,
        runs=5 if quick else 9,
        before_runs=3 if quick else 5,
        log=log,
    )


def local_section(quick: bool) -> dict[str, Any]:
    """In a process of its own: the peak RSS is the local stack's, and its engine the only one."""
    requests = 50 if quick else 200
    with tempfile.TemporaryDirectory(prefix="bench-local-") as scratch:
        out = Path(scratch) / "local.json"
        command = [
            sys.executable,
            "-m",
            "benchmarks.throughput",
            "--requests",
            str(requests),
            "--out",
            str(out),
        ]
        log(f"  {requests} requests through the local stack (a process of its own)")
        completed = subprocess.run(  # noqa: S603 - our own interpreter and module
            command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
        )
        if completed.returncode != 0 or not out.exists():
            raise RuntimeError(f"local throughput run failed:\n{completed.stderr[-3000:]}")
        return json.loads(out.read_text())


def scale_section(quick: bool, svg: Path) -> dict[str, Any]:
    """The two runs in processes of their own, side by side (2 cores): the peak RSS is the larger."""
    from benchmarks.scale_svg import calls_per_second_svg

    sessions = 200 if quick else 1000
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch:
        out = Path(scratch) / "scale.json"
        runs = {mode: Path(scratch) / f"{mode}.json" for mode in ("limited", "unlimited")}
        log(f"  {sessions} executions at once, with and without rate limits (a process each, side by side)")
        module = [sys.executable, "-m", "benchmarks.scale", "--sessions", str(sessions)]
        processes = [
            subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [*module, "--only", mode, "--out", str(path)], cwd=ROOT, stderr=subprocess.PIPE, text=True
            )
            for mode, path in runs.items()
        ]
        errors = [process.communicate(timeout=7200)[1] for process in processes]
        if any(process.returncode for process in processes) or not all(p.exists() for p in runs.values()):
            raise RuntimeError(f"scale run failed:\n{''.join(errors)[-3000:]}")
        subprocess.run(  # noqa: S603 - our own interpreter and module
            [*module, "--combine", str(runs["limited"]), str(runs["unlimited"]), "--out", str(out)],
            cwd=ROOT,
            check=True,
        )
        scale = json.loads(out.read_text())
    svg.write_text(
        calls_per_second_svg(
            scale["get_per_second"],
            scale["get_per_second_without_limits"],
            limit=scale["get_limit_per_s"],
            schedule=scale["get_schedule_per_s"],
            title=f"{scale['requests']} sessions at once: GetStreamingSession calls per second",
        ),
        encoding="utf-8",
    )
    return scale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument(
        "--quick", action="store_true", help="fewer scenarios, runs and requests (a smoke run)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--svg", type=Path, default=HERE / "tradeoff.svg")
    parser.add_argument("--scale-svg", type=Path, default=HERE / "scale.svg")
    parser.add_argument(
        "--keep", action="store_true", help="keep the other sections of the existing results document"
    )
    args = parser.parse_args(argv)
    chosen = tuple(part.strip() for part in args.only.split(",") if part.strip())
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {SECTIONS}")

    started = time.perf_counter()
    previous = json.loads(args.out.read_text()) if args.keep and args.out.exists() else {}
    results: dict[str, Any] = {
        **previous,
        "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "quick": args.quick,
        "machine": machine(),
        "seconds": dict(previous.get("seconds", {})),
    }
    if "polling" in chosen:
        log("polling policy (virtual clock)")
        section_start = time.perf_counter()
        results["polling"] = polling_section(args.quick)
        write_tradeoff_svg(results["polling"], args.svg)
        results["seconds"]["polling"] = round(time.perf_counter() - section_start, 1)
    if "cold" in chosen:
        log("cold start (sam build, zipped as sam deploy does, unpacked as Lambda does; fresh interpreters)")
        section_start = time.perf_counter()
        results.update(cold_section(args.quick))
        results["seconds"]["cold"] = round(time.perf_counter() - section_start, 1)
    if "local" in chosen:
        log("local throughput")
        section_start = time.perf_counter()
        results["local"] = local_section(args.quick)
        results["seconds"]["local"] = round(time.perf_counter() - section_start, 1)
    if "scale" in chosen:
        log("scale: the studio's 9:00 (simulated clock)")
        section_start = time.perf_counter()
        results["scale"] = scale_section(args.quick, args.scale_svg)
        results["seconds"]["scale"] = round(time.perf_counter() - section_start, 1)
    results["seconds"]["total"] = round(time.perf_counter() - started, 1)

    sections = tuple({"cold": "cold_start", "local": "local"}.get(name, name) for name in chosen)
    if args.keep:
        sections = tuple(name for name in ("polling", "cold_start", "local", "scale") if name in results)
    validate(results, sections + (("package",) if "cold_start" in sections else ()))
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(format_table(results))
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}", end="")
    print(
        f" and {args.svg.relative_to(ROOT)}" if "polling" in chosen and args.svg.is_relative_to(ROOT) else ""
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
