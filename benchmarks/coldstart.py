"""Cold start: each function's init (imports and client creation) from the `sam build` artifact.

Each measurement is a fresh interpreter started with ``-I -S -B`` (no site-packages, no user
site, no PYTHON* variables, no bytecode written) whose ``sys.path`` holds only the function's
artifact folder and the standard library, with the environment Lambda would give the function:
the template's variables (Globals and the function's own), Lambda's reserved ones
(``AWS_LAMBDA_FUNCTION_NAME``, ``LAMBDA_TASK_ROOT``, ``AWS_XRAY_DAEMON_ADDRESS``, ...) and tracing
on as deployed (``POWERTOOLS_TRACE_DISABLED`` unset, so Powertools builds the X-Ray recorder and
patches). Inside, the clocks run from before ``import <handler module>`` to after it: every
import and the module-level client. Both wall-clock and CPU time are recorded; the ratio is taken
on CPU time, which load from other processes on a shared machine does not inflate. The baseline does the same for ``import boto3;
boto3.client("stepfunctions")`` from the same folder with the same flags, and runs next to each
function in every round (alternating which goes first), so load on the machine hits both.

Two packagings are measured:

* ``bytecode``: the artifact with ``.pyc`` files compiled in (``compileall``, unchecked-hash), as
  a package built with bytecode would run. This is the headline ratio.
* ``as_built``: the artifact exactly as ``sam build`` makes it: no ``.pyc`` at all, so every module
  is compiled from source at every cold start (Lambda's ``/var/task`` is read-only: nothing is
  cached between cold starts).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.stats import median

__all__ = [
    "BASELINE_CODE",
    "FunctionArtifact",
    "build",
    "folder_mb",
    "lambda_environment",
    "measure",
    "run_cold_start",
]

ROOT = Path(__file__).resolve().parent.parent
BASELINE_CODE = 'import boto3\nboto3.client("stepfunctions")'

# Runs inside the bare interpreter. argv: artifact folder, module to import or "-" for the baseline.
_RUNNER = r"""
import json, resource, sys, time
artifact, module = sys.argv[1], sys.argv[2]
sys.path.insert(0, artifact)
start, start_cpu = time.perf_counter(), time.process_time()
if module == "-":
    exec(sys.argv[3])
else:
    __import__(module)
elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
# VmHWM: this process's own peak. ru_maxrss would report the parent's, inherited through vfork.
try:
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"ms": elapsed * 1000, "cpu_ms": elapsed_cpu * 1000, "rss_mb": peak_kb / 1024}))
"""


@dataclass(frozen=True)
class FunctionArtifact:
    logical_id: str
    folder: Path
    module: str
    memory_mb: int
    environment: dict[str, str]


def host_architecture() -> str:
    machine = platform.machine().lower()
    return "arm64" if machine in {"aarch64", "arm64"} else "x86_64"


def build(build_dir: Path, *, sam: Path, venv_bin: Path, log: Callable[[str], None] = print) -> None:
    """``sam build`` for this machine's architecture into ``build_dir`` (emptied first)."""
    if build_dir.exists():
        shutil.rmtree(build_dir)
    command = [
        str(sam),
        "build",
        "--no-cached",
        "--build-dir",
        str(build_dir),
        "--parameter-overrides",
        f"Architecture={host_architecture()}",
        "--region",
        "us-east-1",
    ]
    environment = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "SAM_CLI_TELEMETRY": "0",
    }
    log(f"  sam build -> {build_dir.relative_to(ROOT) if build_dir.is_relative_to(ROOT) else build_dir}")
    completed = subprocess.run(  # noqa: S603 - our own tool and arguments
        command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"sam build failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")


def lambda_environment(
    logical_id: str, memory_mb: int, handler: str, folder: Path, template_variables: Mapping[str, str]
) -> dict[str, str]:
    """What Lambda's Python runtime sets before init, then the template's variables."""
    region = "us-east-1"
    environment = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "_HANDLER": handler,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{logical_id}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]00000000000000000000000000000000",
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "LAMBDA_TASK_ROOT": str(folder),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        # Fake credentials, as Lambda provides the role's: nothing is called at init.
        "AWS_ACCESS_KEY_ID": "ASIABENCHMARK0000000",
        "AWS_SECRET_ACCESS_KEY": "benchmark",
        "AWS_SESSION_TOKEN": "benchmark",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "_AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129",
        "_AWS_XRAY_DAEMON_PORT": "2000",
    }
    environment.update(template_variables)
    return environment


def artifacts(build_dir: Path) -> list[FunctionArtifact]:
    """The functions of the built template, with the source template's resolved environment."""
    from local.engine import LocalEngine, load_template

    built = load_template(build_dir / "template.yaml")["Resources"]
    plan = LocalEngine(template_path=ROOT / "template.yaml")
    found = []
    for logical_id, resource in built.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        spec = plan.functions[logical_id]
        folder = (build_dir / properties["CodeUri"]).resolve()
        handler = properties["Handler"]
        found.append(
            FunctionArtifact(
                logical_id=logical_id,
                folder=folder,
                module=handler.rsplit(".", 1)[0],
                memory_mb=spec.memory_size,
                environment=lambda_environment(
                    logical_id, spec.memory_size, handler, folder, spec.environment
                ),
            )
        )
    return found


def _run_once(folder: Path, module: str, environment: Mapping[str, str]) -> dict[str, float]:
    command = [sys.executable, "-I", "-S", "-B", "-c", _RUNNER, str(folder), module]
    if module == "-":
        command.append(BASELINE_CODE)
    completed = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        command,
        env=dict(environment),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"init of {module} in {folder.name} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def measure(
    functions: Iterable[FunctionArtifact], runs: int, *, warmup: int = 1, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Median init time of each function and of the baseline beside it, ``runs`` rounds.

    Each round runs every function and its baseline back to back (alternating which goes
    first); ``ratio`` is the median over rounds of function / baseline CPU time, ``wall_ratio``
    the same for wall-clock time.
    """
    functions = list(functions)
    samples: dict[str, dict[str, list[float]]] = {
        f.logical_id: {
            key: []
            for key in (
                "function",
                "baseline",
                "function_cpu",
                "baseline_cpu",
                "rss",
                "baseline_rss",
                "ratio",
                "wall_ratio",
            )
        }
        for f in functions
    }
    for round_number in range(warmup + runs):
        for index, function in enumerate(functions):
            order = [("baseline", "-"), ("function", function.module)]
            if (round_number + index) % 2:
                order.reverse()
            pair = {}
            for kind, module in order:
                pair[kind] = _run_once(function.folder, module, function.environment)
            if round_number >= warmup:
                data = samples[function.logical_id]
                data["function"].append(pair["function"]["ms"])
                data["baseline"].append(pair["baseline"]["ms"])
                data["function_cpu"].append(pair["function"]["cpu_ms"])
                data["baseline_cpu"].append(pair["baseline"]["cpu_ms"])
                data["rss"].append(pair["function"]["rss_mb"])
                data["baseline_rss"].append(pair["baseline"]["rss_mb"])
                data["ratio"].append(pair["function"]["cpu_ms"] / pair["baseline"]["cpu_ms"])
                data["wall_ratio"].append(pair["function"]["ms"] / pair["baseline"]["ms"])
    results: dict[str, Any] = {}
    for function in functions:
        data = samples[function.logical_id]
        results[function.logical_id] = {
            "handler_module": function.module,
            "init_ms": round(median(data["function"]), 1),
            "baseline_ms": round(median(data["baseline"]), 1),
            "init_cpu_ms": round(median(data["function_cpu"]), 1),
            "baseline_cpu_ms": round(median(data["baseline_cpu"]), 1),
            # The median of the per-round ratios of CPU time: init is CPU-bound (the files are in
            # the page cache), and CPU time does not count the time other processes on a shared
            # machine hold the cores, which wall time does. On an idle machine the two agree.
            "ratio": round(median(data["ratio"]), 3),
            "wall_ratio": round(median(data["wall_ratio"]), 3),
            "init_rss_mb": round(median(data["rss"]), 1),
            "baseline_rss_mb": round(median(data["baseline_rss"]), 1),
            "memory_mb": function.memory_mb,
            "runs": len(data["function"]),
        }
    log("    " + ", ".join(f"{k} {v['ratio']:.2f}x" for k, v in results.items()))
    return results


def folder_mb(folder: Path) -> float:
    total = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    return total / (1024 * 1024)


def compile_bytecode(folder: Path) -> None:
    """``.pyc`` next to every module, valid without checking the source's mtime (zip-safe)."""
    completed = subprocess.run(  # noqa: S603 - our own interpreter
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            str(folder),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"compileall {folder} failed: {completed.stdout[-2000:]}")


def run_cold_start(
    build_dir: Path,
    *,
    sam: Path,
    venv_bin: Path,
    runs: int = 9,
    as_built_runs: int = 5,
    skip_build: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    if not skip_build:
        build(build_dir, sam=sam, venv_bin=venv_bin, log=log)
    functions = artifacts(build_dir)
    sizes = {f.logical_id: round(folder_mb(f.folder), 2) for f in functions}
    log(f"  as built (no bytecode in the package), {as_built_runs} runs each")
    as_built = measure(functions, as_built_runs, log=log)
    for function in functions:
        compile_bytecode(function.folder)
    sizes_with_bytecode = {f.logical_id: round(folder_mb(f.folder), 2) for f in functions}
    log(f"  with bytecode, {runs} runs each")
    bytecode = measure(functions, runs, log=log)
    for name, row in bytecode.items():
        row["as_built_init_ms"] = as_built[name]["init_ms"]
        row["as_built_baseline_ms"] = as_built[name]["baseline_ms"]
        row["as_built_ratio"] = as_built[name]["ratio"]
        row["as_built_wall_ratio"] = as_built[name]["wall_ratio"]
    return {
        "cold_start": {
            "max_ratio_vs_boto3": max(row["ratio"] for row in bytecode.values()),
            "max_ratio_vs_boto3_as_built": max(row["ratio"] for row in as_built.values()),
            "baseline": BASELINE_CODE.replace("\n", "; "),
            "interpreter": f"{sys.executable} -I -S -B ({platform.python_version()})",
            "architecture": host_architecture(),
            "functions": bytecode,
        },
        "package": {
            "max_mb": max(sizes.values()),
            "max_mb_with_bytecode": max(sizes_with_bytecode.values()),
            "functions_mb": sizes,
        },
    }
