"""Invokes every events/ sample against the `sam build` artifact, as `sam local invoke` would.

    python scripts/invoke_built_artifacts.py --build-dir .aws-sam/test-build

Each sample runs in a fresh interpreter started with `-I -S`: no site-packages, no user
site, no PYTHON* variables, so only the artifact folder, its layer (the dependencies, as Lambda
puts /opt/python after /var/task) and the standard library can be imported. A dependency missing from functions/requirements.txt, or a model file missing from
the package, fails here rather than on the first deployed invocation.

What the functions talk to is local: the Nimble Studio emulator (AWS_ENDPOINT_URL_NIMBLE)
and a moto server holding the state machine, the event bus and the template's DynamoDB tables
(AWS_ENDPOINT_URL_SFN, AWS_ENDPOINT_URL_EVENTBRIDGE, AWS_ENDPOINT_URL_DYNAMODB), both on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from local.emulator import EmulatorConfig, start_emulator
from local.engine import REGION, LocalEngine
from local.tables import create_tables
from scripts.built_artifacts import BuiltFunction, built_functions, modules_without_unchecked_bytecode

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
# Samples that feed no function here: the env-vars file of `sam local invoke`, and the
# EventBridge events (validated against the event schemas by the tests).
NOT_INVOKED = {
    "env.local.json",
    "eventbridge_session_ready.json",
    "eventbridge_session_failed.json",
    "eventbridge_session_delayed.json",
}
SAMPLE_SESSION_ID = "session-272a097ad362bc1e8f8c"  # what the emulator names the sample's session

# Runs inside the bare interpreter: imports the handler from the artifact and calls it.
RUNNER = r"""
import json, sys, uuid
import os
artifacts, handler, event_path, result_path = sys.argv[1:5]
sys.path[0:0] = artifacts.split(os.pathsep)

class Context:
    function_name = "sample"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:sample"
    memory_limit_in_mb = 256
    aws_request_id = str(uuid.uuid4())
    log_group_name = "/aws/lambda/sample"
    log_stream_name = "sample"
    def get_remaining_time_in_millis(self):
        return 30000

module_name, function_name = handler.rsplit(".", 1)
with open(event_path) as stream:
    event = json.load(stream)
try:
    module = __import__(module_name, fromlist=[function_name])
    outcome = {"result": getattr(module, function_name)(event, Context())}
except Exception as error:
    outcome = {"errorType": type(error).__name__, "errorMessage": str(error)}
with open(result_path, "w") as stream:
    json.dump(outcome, stream, default=str)
"""


@dataclass(frozen=True)
class Sample:
    file: str
    function: str
    check: Callable[[dict[str, Any]], bool]
    expectation: str


# In order: the create sample makes the session the poll and delete samples name.
SAMPLES = [
    Sample(
        "validate_request.json",
        "ValidateRequestFunction",
        lambda r: r["request"]["requestId"] == "sample-request-0001",
        "the validated request",
    ),
    Sample(
        "reserve_call_slots.json",
        "ReserveCallSlotsFunction",
        lambda r: set(r) == {"createAt", "firstPollAt"} and r["createAt"] < r["firstPollAt"],
        "the create's and the first poll's slots",
    ),
    Sample(
        "create_session.json",
        "CreateSessionFunction",
        lambda r: r["sessionId"] == SAMPLE_SESSION_ID,
        f"session {SAMPLE_SESSION_ID}",
    ),
    Sample(
        "poll_session.json",
        "PollSessionFunction",
        lambda r: r["outcome"] == "PENDING" and r["session"]["sessionId"] == SAMPLE_SESSION_ID,
        "a PENDING poll of the sample session",
    ),
    Sample(
        "delete_session.json",
        "DeleteSessionFunction",
        lambda r: r["action"] == "DELETED",
        "the session deleted",
    ),
    Sample(
        "describe_failure.json",
        "DescribeFailureFunction",
        lambda r: r["detail"]["error"]["code"] == "ServiceQuotaExceededException",
        "a ServiceQuotaExceededException failure detail",
    ),
    Sample(
        "api_create_request.json",
        "ApiFunction",
        lambda r: r["statusCode"] == 202,
        "202 Accepted",
    ),
    Sample(
        "api_get_request_status.json",
        "ApiFunction",
        lambda r: r["statusCode"] == 200 and json.loads(r["body"])["status"] == "IN_PROGRESS",
        "200 with status IN_PROGRESS",
    ),
    # The route, the StopExecution call and the re-read after it, on the built artifact. This
    # stand-in is a plain moto server (executions do not run), whose StopExecution keeps no error
    # and whose history is canned, so the stopped request reads as ended: 409. What a cancel
    # answers and announces is asserted on the real workflow (tests/workflow/test_cancel.py, e2e).
    Sample(
        "api_cancel_request.json",
        "ApiFunction",
        lambda r: r["statusCode"] == 409 and json.loads(r["body"])["code"] == "ConflictException",
        "409 ConflictException (the stand-in's StopExecution keeps no error: see the comment)",
    ),
    Sample(
        "reconcile_execution.json",
        "ReconcileExecutionFunction",
        lambda r: r["action"] == "ANNOUNCED" and r["code"] == "ExecutionAborted",
        "the stopped sample execution announced as ExecutionAborted",
    ),
    # After the reconcile sample: the sweep finds two stopped executions, the reconcile sample's,
    # already announced (its marker), and the one the cancel sample stopped, which no
    # status-change event announced here: the sweep does.
    Sample(
        "sweep_executions.json",
        "ReconcileExecutionFunction",
        lambda r: (r["swept"], r["settled"], r["reconciled"], r["failed"]) == (2, 1, 1, []),
        "2 executions swept: the reconciled sample's settled, the cancelled sample's announced",
    ),
    Sample(
        "session_ready_consumer.json",
        "SessionReadyConsumerFunction",
        lambda r: r["sessionId"] == "session-7a220ba83d3f4fb5a74d" and r["ownedBy"] == "artist@example.com",
        "the Ready notice of session-7a220ba83d3f4fb5a74d",
    ),
]


def stop_sample_execution(sfn: Any, state_machine: str, event_bus_name: str, moto_url: str) -> None:
    """What the reconcile sample describes: a stopped execution, and the bus to announce it on."""
    sample = json.loads((EVENTS / "reconcile_execution.json").read_text())["detail"]
    started = sfn.start_execution(stateMachineArn=state_machine, name=sample["name"], input=sample["input"])
    sfn.stop_execution(executionArn=started["executionArn"], cause="sample")
    events = boto3.client(
        "events",
        endpoint_url=moto_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto server on loopback
    )
    events.create_event_bus(Name=event_bus_name)


def client_at(url: str, service: str) -> Any:
    """A client of the loopback moto server."""
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto server on loopback
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    args = parser.parse_args()
    build_dir = args.build_dir.resolve()
    functions = built_functions(build_dir)

    # What `sam build` ships must carry bytecode Lambda loads as is (functions/Makefile).
    folders = {folder for function in functions.values() for folder in (function.folder, *function.layers)}
    without = [path for folder in sorted(folders) for path in modules_without_unchecked_bytecode(folder)]
    if without:
        print(f"{len(without)} modules without unchecked-hash bytecode, e.g. {without[:3]}", file=sys.stderr)
        return 1
    print(f"bytecode: every module of {len(folders)} built folders has unchecked-hash .pyc")

    uncovered = sorted(
        path.name
        for path in EVENTS.glob("*.json")
        if path.name not in NOT_INVOKED | {s.file for s in SAMPLES}
    )
    if uncovered:
        print(f"events/ samples with no invocation check: {uncovered}", file=sys.stderr)
        return 1

    # The state machine the API function starts executions of; executions do not run here.
    engine_plan = LocalEngine(template_path=ROOT / "template.yaml")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per call otherwise
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    sfn_url = f"http://{host}:{port}"
    failures = 0
    try:
        with start_emulator(port=0, config=EmulatorConfig(provisioning_seconds=60)) as emulator:
            sfn = boto3.client(
                "stepfunctions",
                endpoint_url=sfn_url,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 - moto server on loopback
            )
            state_machine = sfn.create_state_machine(
                name=engine_plan.state_machine_arn.rsplit(":", 1)[-1],
                definition=engine_plan.definition,
                roleArn="arn:aws:iam::123456789012:role/local",
            )["stateMachineArn"]
            environment = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ENDPOINT_URL_NIMBLE": emulator.url,
                "AWS_ENDPOINT_URL_SFN": sfn_url,
                "AWS_ENDPOINT_URL_EVENTBRIDGE": sfn_url,
                "AWS_ENDPOINT_URL_DYNAMODB": sfn_url,
                "STATE_MACHINE_ARN": state_machine,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
            }
            stop_sample_execution(sfn, state_machine, engine_plan.event_bus_name, sfn_url)
            create_tables(engine_plan.resolver, client_at(sfn_url, "dynamodb"))
            for sample in SAMPLES:
                # As `sam local invoke`: the function's own variables from the template, then ours.
                function_environment = engine_plan.functions[sample.function].environment | environment
                failures += not invoke(sample, functions, function_environment)
    finally:
        moto.stop()
    print(f"built artifacts: {len(SAMPLES) - failures} passed, {failures} failed")
    return 1 if failures else 0


def invoke(sample: Sample, functions: dict[str, BuiltFunction], environment: dict) -> bool:
    function = functions[sample.function]
    with tempfile.TemporaryDirectory() as scratch:
        result_path = Path(scratch) / "result.json"
        completed = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [
                sys.executable,
                "-I",
                "-S",
                "-c",
                RUNNER,
                os.pathsep.join(str(folder) for folder in function.search_path),
                function.properties["Handler"],
                str(EVENTS / sample.file),
                str(result_path),
            ],
            env=environment,
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        outcome = json.loads(result_path.read_text()) if result_path.exists() else None
    label = f"{sample.function:<30} events/{sample.file}"
    if outcome is None or "result" not in outcome:
        print(f"FAIL {label}: {outcome or completed.stderr.strip()[-2000:]}")
        return False
    try:
        passed = bool(sample.check(outcome["result"]))
    except (KeyError, TypeError, ValueError):
        passed = False
    print(
        f"{'ok  ' if passed else 'FAIL'} {label}"
        + ("" if passed else f": expected {sample.expectation}, got {outcome['result']}")
    )
    return passed


if __name__ == "__main__":
    sys.exit(main())
