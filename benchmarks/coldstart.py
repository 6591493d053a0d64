"""Cold start: each function's init, from the zips `sam deploy` would upload, unpacked as Lambda does.

What is measured is what a user who runs ``sam build && sam deploy`` (or ``sam sync``) ships,
with no step of ours in between:

1. ``sam build`` of template.yaml (functions/Makefile: the DependenciesLayer and each function,
   with unchecked-hash bytecode) and, for comparison, ``sam build`` of the same template with
   SAM's own Python builder (the packaging before functions/Makefile: no Metadata, no layer).
2. Each function folder and the layer folder zipped by SAM's own zip function (the SAM CLI's
   ``make_zip``, which ``sam package``/``sam deploy`` use: every entry dated 1980-01-01).
3. Each zip unpacked as Lambda unpacks it: the function in a ``task`` folder (/var/task), the
   layer in an ``opt`` folder (/opt), every file dated as in the zip (so bytecode that checks its
   source's time is stale, as on Lambda), and every folder read-only (nothing is cached between
   cold starts: /var/task and /opt are read-only).

Each measurement is a fresh interpreter started with ``-I -S -B`` (no site-packages, no user
site, no PYTHON* variables, no bytecode written) whose ``sys.path`` holds, before the standard
library, the task folder then ``opt/python``, as Lambda's runtime orders them, with the
environment Lambda would give the function: the template's variables (Globals and its own),
Lambda's reserved ones and tracing on as deployed (``POWERTOOLS_TRACE_DISABLED`` unset, so
Powertools builds the X-Ray recorder and patches). Inside, the clocks run from before
``import <handler module>`` to after it: every import and the module-level clients. Both wall
and CPU time are recorded; the ratio is taken on CPU time, which load from other processes on a
shared machine does not inflate. The baseline, ``import boto3; boto3.client("stepfunctions")``,
runs from the same unpacked folders with the same flags, next to each function in every round
(alternating which goes first), so it is packaged the same way and load hits both.

The API function is also measured as init plus its first request (events/api_create_request.json:
validation, the Step Functions call, the answer), against the baseline's client plus its first
``start_execution``; both calls go to a stand-in Step Functions endpoint on 127.0.0.1 that
answers at once, and the X-Ray segments to a UDP socket on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
    "previous_packaging_template",
    "run_cold_start",
    "unpack_as_lambda",
]

ROOT = Path(__file__).resolve().parent.parent
BASELINE_CODE = 'import boto3\nclient = boto3.client("stepfunctions")'
BASELINE_FIRST_CALL = (
    'client.start_execution(stateMachineArn=__import__("os").environ["STATE_MACHINE_ARN"], '
    'name="baseline", input="{}")'
)
API_FUNCTION = "ApiFunction"
API_FIRST_EVENT = ROOT / "events" / "api_create_request.json"

# Runs inside the bare interpreter. argv: search path (os.pathsep-joined), module to import or
# "-" for the baseline, the baseline's code, then optionally an event file for a first request.
_RUNNER = r"""
import json, os, resource, sys, time, uuid
paths, module, baseline = sys.argv[1].split(os.pathsep), sys.argv[2], sys.argv[3]
event_path = sys.argv[4] if len(sys.argv) > 4 else None
sys.path[0:0] = paths

class Context:
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
    memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"))
    aws_request_id = str(uuid.uuid4())
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "cold-start"
    def get_remaining_time_in_millis(self):
        return 30000

start, start_cpu = time.perf_counter(), time.process_time()
if module == "-":
    namespace = {}
    exec(baseline, namespace)
else:
    handler = __import__(module, fromlist=["lambda_handler"])
init, init_cpu = time.perf_counter() - start, time.process_time() - start_cpu
first = first_cpu = status = None
if event_path:
    with open(event_path) as stream:
        event = json.load(stream)
    start, start_cpu = time.perf_counter(), time.process_time()
    if module == "-":
        exec(sys.argv[5], namespace)
        status = 200
    else:
        status = handler.lambda_handler(event, Context())["statusCode"]
    first, first_cpu = time.perf_counter() - start, time.process_time() - start_cpu
# VmHWM: this process's own peak. ru_maxrss would report the parent's, inherited through vfork.
try:
    with open("/proc/self/status") as status_file:
        peak_kb = next(int(line.split()[1]) for line in status_file if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"ms": init * 1000, "cpu_ms": init_cpu * 1000, "rss_mb": peak_kb / 1024,
                  "first_ms": first and first * 1000, "first_cpu_ms": first_cpu and first_cpu * 1000,
                  "status": status}))
"""


@dataclass(frozen=True)
class FunctionArtifact:
    logical_id: str
    search_path: tuple[Path, ...]  # the unpacked task folder, then each layer's python folder
    module: str
    memory_mb: int
    environment: dict[str, str]


def host_architecture() -> str:
    machine = platform.machine().lower()
    return "arm64" if machine in {"aarch64", "arm64"} else "x86_64"


def previous_packaging_template(template_text: str, root: Path = ROOT) -> str:
    """template.yaml as it was packaged before functions/Makefile: SAM's Python builder.

    No function Metadata (so SAM installs functions/requirements.txt into every function, as one
    build) and no DependenciesLayer; relative paths made absolute, so the copy builds from anywhere.
    """
    text, functions_changed = re.subn(
        r"\n    Metadata:\n      BuildMethod: makefile\n    Properties:\n",
        "\n    Properties:\n",
        template_text,
    )
    text, layer_refs = re.subn(r"\n    Layers: \[!Ref DependenciesLayer\]\n", "\n", text)
    text, layers = re.subn(
        r"\n  # The functions' dependencies.*?\n\n(?=  EventBus:)", "\n", text, flags=re.DOTALL
    )
    if not (functions_changed and layer_refs == 1 and layers == 1):
        raise ValueError("template.yaml no longer has the makefile build this comparison undoes")
    text = text.replace("CodeUri: functions/", f"CodeUri: {root / 'functions'}/")
    return text.replace("DefinitionUri: statemachine/", f"DefinitionUri: {root / 'statemachine'}/")


def build(
    build_dir: Path,
    *,
    sam: Path,
    venv_bin: Path,
    template: Path | None = None,
    log: Callable[[str], None] = print,
) -> None:
    """``sam build`` for this machine's architecture into ``build_dir`` (emptied first)."""
    if build_dir.exists():
        shutil.rmtree(build_dir)
    command = [str(sam), "build", "--no-cached", "--build-dir", str(build_dir)]
    if template is not None:
        command += ["--template-file", str(template)]
    command += ["--parameter-overrides", f"Architecture={host_architecture()}", "--region", "us-east-1"]
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


def sam_zip(folder: Path, zip_base: Path, *, sam_python: Path) -> Path:
    """``folder`` zipped by the SAM CLI's own function, as ``sam deploy`` uploads it."""
    zip_base.parent.mkdir(parents=True, exist_ok=True)
    code = (
        "import sys; from samcli.lib.package.utils import make_zip; print(make_zip(sys.argv[1], sys.argv[2]))"
    )
    completed = subprocess.run(  # noqa: S603 - the SAM CLI's interpreter, our arguments
        [str(sam_python), "-c", code, str(zip_base), str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"zipping {folder} failed:\n{completed.stderr[-2000:]}")
    return Path(completed.stdout.strip().splitlines()[-1])


def unpack_as_lambda(archive: Path, destination: Path) -> None:
    """Unzip with each file dated as in the zip (SAM's entries: 1980) into ``destination``."""
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            target = destination / info.filename
            zipped.extract(info, destination)
            stamp = time.mktime((*info.date_time, 0, 0, -1))
            os.utime(target, (stamp, stamp))


def make_read_only(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def make_writable(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


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


def unpacked_artifacts(
    build_dir: Path, scratch: Path, *, sam_python: Path
) -> tuple[list[FunctionArtifact], dict]:
    """Every function of the build, zipped as ``sam deploy`` does and unpacked as Lambda does,
    with the source template's resolved environment; and the zips' sizes."""
    from local.engine import LocalEngine
    from scripts.built_artifacts import built_functions

    plan = LocalEngine(template_path=ROOT / "template.yaml")
    unpacked_layers: dict[Path, Path] = {}
    sizes: dict[str, Any] = {"functions_mb": {}, "functions_zip_mb": {}, "layers_mb": {}}
    found = []
    for logical_id, built in built_functions(build_dir).items():
        task = scratch / logical_id / "task"
        unpack_as_lambda(sam_zip(built.folder, scratch / logical_id / "code", sam_python=sam_python), task)
        sizes["functions_mb"][logical_id] = round(folder_mb(task), 2)
        sizes["functions_zip_mb"][logical_id] = round(
            (scratch / logical_id / "code.zip").stat().st_size / 2**20, 2
        )
        layer_paths = []
        for layer in built.layers:
            if layer not in unpacked_layers:
                opt = scratch / f"layer-{len(unpacked_layers)}" / "opt"
                unpack_as_lambda(sam_zip(layer, opt.parent / "layer", sam_python=sam_python), opt)
                sizes["layers_mb"][layer.name] = round(folder_mb(opt), 2)
                unpacked_layers[layer] = opt
            layer_paths.append(unpacked_layers[layer] / "python")
        spec = plan.functions[logical_id]
        handler = built.properties["Handler"]
        found.append(
            FunctionArtifact(
                logical_id=logical_id,
                search_path=(task, *layer_paths),
                module=handler.rsplit(".", 1)[0],
                memory_mb=spec.memory_size,
                environment=lambda_environment(logical_id, spec.memory_size, handler, task, spec.environment),
            )
        )
    for folder in [*(f.search_path[0] for f in found), *unpacked_layers.values()]:
        make_read_only(folder)
    return found, sizes


def _run_once(
    function: FunctionArtifact,
    module: str,
    *,
    event: Path | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, float]:
    command = [
        sys.executable,
        "-I",
        "-S",
        "-B",
        "-c",
        _RUNNER,
        os.pathsep.join(str(path) for path in function.search_path),
        module,
        BASELINE_CODE,
    ]
    if event is not None:
        command += [str(event), BASELINE_FIRST_CALL]
    completed = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        command,
        env={**function.environment, **(extra or {})},
        cwd=function.search_path[0],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"init of {module} for {function.logical_id} failed:\n{completed.stderr[-3000:]}")
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
    keys = (
        "function",
        "baseline",
        "function_cpu",
        "baseline_cpu",
        "rss",
        "baseline_rss",
        "ratio",
        "wall_ratio",
    )
    samples = {f.logical_id: {key: [] for key in keys} for f in functions}
    for round_number in range(warmup + runs):
        for index, function in enumerate(functions):
            order = [("baseline", "-"), ("function", function.module)]
            if (round_number + index) % 2:
                order.reverse()
            pair = {kind: _run_once(function, module) for kind, module in order}
            if round_number < warmup:
                continue
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


class _StepFunctionsStandIn(BaseHTTPRequestHandler):
    """Answers every call as StartExecution succeeding: what a first request waits for."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps(
            {
                "executionArn": "arn:aws:states:us-east-1:123456789012:execution:machine:cold-start",
                "startDate": time.time(),
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/x-amz-json-1.0")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def first_request_endpoints() -> Iterator[dict[str, str]]:
    """A Step Functions stand-in and an X-Ray daemon socket, both on 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StepFunctionsStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon_port = daemon.getsockname()[1]
    try:
        yield {
            "AWS_ENDPOINT_URL_SFN": f"http://127.0.0.1:{server.server_address[1]}",
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon_port}",
            "_AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1",
            "_AWS_XRAY_DAEMON_PORT": str(daemon_port),
            # A sampled trace, as API Gateway with tracing on passes one: the segments are sent.
            "_X_AMZN_TRACE_ID": "Root=1-67469e40-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
        }
    finally:
        server.shutdown()
        server.server_close()
        daemon.close()


def measure_first_request(function: FunctionArtifact, runs: int, *, warmup: int = 1) -> dict[str, Any]:
    """The API function's init plus its first request, against the baseline's client plus its
    first call, ``runs`` rounds (alternating which goes first)."""
    totals: dict[str, list[float]] = {"function": [], "baseline": [], "ratio": [], "first": []}
    with first_request_endpoints() as endpoints:
        for round_number in range(warmup + runs):
            order = [("baseline", "-"), ("function", function.module)]
            if round_number % 2:
                order.reverse()
            pair = {
                kind: _run_once(function, module, event=API_FIRST_EVENT, extra=endpoints)
                for kind, module in order
            }
            if pair["function"]["status"] != 202:
                raise RuntimeError(f"the API's first request answered {pair['function']['status']}, not 202")
            if round_number < warmup:
                continue
            function_cpu = pair["function"]["cpu_ms"] + pair["function"]["first_cpu_ms"]
            baseline_cpu = pair["baseline"]["cpu_ms"] + pair["baseline"]["first_cpu_ms"]
            totals["function"].append(function_cpu)
            totals["baseline"].append(baseline_cpu)
            totals["first"].append(pair["function"]["first_cpu_ms"])
            totals["ratio"].append(function_cpu / baseline_cpu)
    return {
        "event": str(API_FIRST_EVENT.relative_to(ROOT)),
        "baseline": f"{BASELINE_CODE.replace(chr(10), '; ')}; client.start_execution(...)",
        "init_and_first_request_cpu_ms": round(median(totals["function"]), 1),
        "first_request_cpu_ms": round(median(totals["first"]), 1),
        "baseline_cpu_ms": round(median(totals["baseline"]), 1),
        "ratio": round(median(totals["ratio"]), 3),
        "runs": runs,
    }


def folder_mb(folder: Path) -> float:
    total = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    return total / (1024 * 1024)


def run_cold_start(
    build_dir: Path,
    *,
    sam: Path,
    venv_bin: Path,
    runs: int = 9,
    before_runs: int = 5,
    skip_build: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    from benchmarks.coldstart_floor import measure_floor  # it builds on this module's measures

    sam_python = sam.parent / "python"
    before_dir = build_dir.with_name(build_dir.name + "-sam-python-builder")
    if not skip_build:
        build(build_dir, sam=sam, venv_bin=venv_bin, log=log)
        with tempfile.TemporaryDirectory(prefix="template-before-") as folder:
            template = Path(folder) / "template.yaml"
            template.write_text(previous_packaging_template((ROOT / "template.yaml").read_text()))
            build(before_dir, sam=sam, venv_bin=venv_bin, template=template, log=log)
    scratch = Path(tempfile.mkdtemp(prefix="cold-start-"))
    try:
        functions, sizes = unpacked_artifacts(build_dir, scratch / "makefile", sam_python=sam_python)
        before, before_sizes = unpacked_artifacts(before_dir, scratch / "sam-python", sam_python=sam_python)
        log(f"  before: SAM's Python builder, zipped and unpacked as Lambda does, {before_runs} runs each")
        previous = measure(before, before_runs, log=log)
        log(f"  as built: functions/Makefile, zipped and unpacked as Lambda does, {runs} runs each")
        as_built = measure(functions, runs, log=log)
        api = next(f for f in functions if f.logical_id == API_FUNCTION)
        log(f"  {API_FUNCTION}: init and its first request, {runs} runs")
        first_request = measure_first_request(api, runs)
        log(f"    {first_request['ratio']:.2f}x")
        floor_folder = scratch / "floor"
        floor_folder.mkdir()
        floor = measure_floor(functions, floor_folder, runs, log=log)
    finally:
        make_writable(scratch)
        shutil.rmtree(scratch, ignore_errors=True)
    for name, row in as_built.items():
        row["before_init_ms"] = previous[name]["init_ms"]
        row["before_init_cpu_ms"] = previous[name]["init_cpu_ms"]
        row["before_baseline_cpu_ms"] = previous[name]["baseline_cpu_ms"]
        row["before_ratio"] = previous[name]["ratio"]
    as_built_max = max(max(row["ratio"] for row in as_built.values()), first_request["ratio"])
    layer_mb = sum(sizes["layers_mb"].values())
    return {
        "cold_start": {
            # Kept for continuity: the package now carries its bytecode, so both are the same
            # measure (the zips sam deploy uploads), and both include the API's first request.
            "max_ratio_vs_boto3": as_built_max,
            "max_ratio_vs_boto3_as_built": as_built_max,
            "max_ratio_vs_boto3_before": max(row["ratio"] for row in previous.values()),
            "api_first_request": first_request,
            "baseline": BASELINE_CODE.replace("\n", "; "),
            "method": "sam build, SAM's make_zip, unzipped with the zip's 1980 dates into read-only folders",
            "interpreter": f"{sys.executable} -I -S -B ({platform.python_version()})",
            "architecture": host_architecture(),
            "functions": as_built,
            # What the stack alone costs (benchmarks/coldstart_floor.py): the least any function
            # built to the project's rules (Powertools, pydantic models, a client at init) can reach.
            "floor": floor,
            "floor_max_ratio_vs_boto3": floor["max_ratio_vs_boto3"],
        },
        "package": {
            # What Lambda unpacks for one function: its own folder and the layer.
            "max_mb": round(max(sizes["functions_mb"].values()) + layer_mb, 2),
            "max_mb_with_bytecode": round(max(sizes["functions_mb"].values()) + layer_mb, 2),
            "max_mb_before": max(before_sizes["functions_mb"].values()),
            "functions_mb": sizes["functions_mb"],
            "functions_zip_mb": sizes["functions_zip_mb"],
            "layers_mb": sizes["layers_mb"],
        },
    }
