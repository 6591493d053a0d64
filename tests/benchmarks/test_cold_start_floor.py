"""The cold-start floor's functions: written where the measure runs them, and working functions.

A floor that failed at import or answered an error would measure less than a function does and
flatter the stack; each one runs here in a fresh interpreter, as the benchmark runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.coldstart import API_FIRST_EVENT, FunctionArtifact, first_request_endpoints
from benchmarks.coldstart_floor import FLOOR_MODULES, floor_artifacts

ROOT = Path(__file__).resolve().parents[2]


def artifact(logical_id: str) -> FunctionArtifact:
    return FunctionArtifact(
        logical_id=logical_id,
        search_path=(ROOT / "functions",),
        module=f"session_provisioning.handlers.{logical_id}",
        memory_mb=256,
        environment={"AWS_LAMBDA_FUNCTION_NAME": logical_id},
    )


FUNCTIONS = [artifact("CreateSessionFunction"), artifact("ApiFunction")]


def run_handler(floor: FunctionArtifact, event: dict, extra: dict[str, str]) -> dict:
    code = (
        "import json, sys\n"
        f"sys.path[0:0] = {[str(path) for path in floor.search_path]!r}\n"
        f"import {floor.module} as floor\n"
        "class Context:\n"
        "    function_name = 'floor'; memory_limit_in_mb = 256; aws_request_id = 'r-1'\n"
        "    invoked_function_arn = 'arn:aws:lambda:us-east-1:123456789012:function:floor'\n"
        f"print(json.dumps(floor.lambda_handler({event!r}, Context())))"
    )
    env = {
        **os.environ,
        **floor.environment,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "floor",
        "AWS_SECRET_ACCESS_KEY": "floor",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Floor",
        **extra,
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_each_floor_is_written_and_runs_with_its_functions_package(tmp_path):
    floors = floor_artifacts(FUNCTIONS, tmp_path)
    assert set(floors) == set(FLOOR_MODULES)
    for name, floor in floors.items():
        assert (tmp_path / f"{name}.py").is_file()
        assert floor.search_path == (tmp_path, ROOT / "functions")
        assert floor.module == name
    assert floors["floor_step"].environment == {"AWS_LAMBDA_FUNCTION_NAME": "CreateSessionFunction"}


def test_the_step_floor_validates_its_event(tmp_path):
    floors = floor_artifacts(FUNCTIONS, tmp_path)
    answer = run_handler(floors["floor_step"], {"studio_id": "studio-1", "attempt": 0}, {})
    assert answer == {"studio_id": "studio-1", "attempt": 0}


def test_the_api_floor_answers_the_first_request_the_benchmark_sends(tmp_path):
    floors = floor_artifacts(FUNCTIONS, tmp_path)
    event = json.loads(API_FIRST_EVENT.read_text())
    with first_request_endpoints() as endpoints:
        extra = {
            **endpoints,
            "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:floor",
        }
        answer = run_handler(floors["floor_api"], event, extra)
    assert answer["statusCode"] == 202
    assert json.loads(answer["body"])["executionArn"].startswith("arn:aws:states:")
