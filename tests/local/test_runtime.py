"""The Lambda runtime's worker pools, without an engine: environments, concurrency, failures.

The workers run the real handlers' modules with :mod:`tests.local.probe` preloaded; only probe
events are sent, so nothing needs AWS. Waits are bounded generously; nothing is timed.
"""

from __future__ import annotations

import dataclasses
import json
import threading

import pytest

from local.engine import LocalEngine
from local.lambda_runtime import WorkerRuntime

UNREACHABLE = "http://127.0.0.1:9"  # the probes make no AWS call


@pytest.fixture(scope="module")
def plan():
    return LocalEngine(environment={"POWERTOOLS_METRICS_DISABLED": "true"})


def make_runtime(plan, functions=("ValidateRequestFunction", "ApiFunction"), **options) -> WorkerRuntime:
    specs = {logical_id: plan.functions[logical_id] for logical_id in functions}
    environments = {logical_id: plan.handler_environment(logical_id) for logical_id in functions}
    environments["ValidateRequestFunction"] = {
        **environments["ValidateRequestFunction"],
        "ONLY_MINE": "validate",
    }
    options.setdefault("preload", ("tests.local.probe",))
    return WorkerRuntime(specs, environments, aws_endpoint_url=UNREACHABLE, **options)


def invoke(runtime: WorkerRuntime, plan, logical_id: str, event) -> tuple[dict, bool]:
    body, failed = runtime.invoke(plan.functions[logical_id], event)
    return json.loads(body), failed


def test_each_function_has_its_own_environment_and_process(plan):
    runtime = make_runtime(plan)
    runtime.start()
    try:
        validate, failed = invoke(runtime, plan, "ValidateRequestFunction", {"probe": "state"})
        assert not failed
        api, _ = invoke(runtime, plan, "ApiFunction", {"probe": "state"})
    finally:
        runtime.stop()
    assert validate["pid"] != api["pid"]
    assert validate["environ"]["ONLY_MINE"] == "validate"
    assert "ONLY_MINE" not in api["environ"]
    assert "STATE_MACHINE_ARN" not in validate["environ"]
    assert api["environ"]["STATE_MACHINE_ARN"] == plan.state_machine_arn
    for environ, name in ((validate["environ"], "ValidateRequestFunction"), (api["environ"], "ApiFunction")):
        assert environ["AWS_LAMBDA_FUNCTION_NAME"] == name
        assert environ["AWS_ENDPOINT_URL"] == UNREACHABLE
        assert environ["AWS_ACCESS_KEY_ID"] == "local"
        assert environ["POWERTOOLS_METRICS_DISABLED"] == "true"
        assert environ["AWS_REGION"] == "us-east-1"
    assert 0 < validate["remaining_ms"] <= 30_000


def test_concurrent_invocations_get_their_own_workers_up_to_the_bound(plan):
    runtime = make_runtime(plan, max_workers=2)
    runtime.start()
    results: list[dict] = []
    lock = threading.Lock()

    def call() -> None:
        payload, failed = invoke(runtime, plan, "ValidateRequestFunction", {"probe": "sleep", "seconds": 0.5})
        assert not failed
        with lock:
            results.append(payload)

    try:
        threads = [threading.Thread(target=call) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        pool = runtime.pools["ValidateRequestFunction"]
        workers = pool.workers()
        assert len(results) == 6
        # Beyond the bound, invocations waited for a worker: never more than two processes.
        assert len(workers) <= 2
        assert {r["pid"] for r in results} <= {w.pid for w in workers}
        assert sum(w.invocations for w in workers) == 6
    finally:
        runtime.stop()


def test_an_exception_comes_back_as_lambda_reports_it(plan):
    runtime = make_runtime(plan, functions=("ValidateRequestFunction",))
    try:
        payload, failed = invoke(
            runtime, plan, "ValidateRequestFunction", {"probe": "raise", "type": "ThrottlingException"}
        )
    finally:
        runtime.stop()
    assert failed
    assert payload["errorType"] == "ThrottlingException"
    assert payload["errorMessage"] == "raised by the probe"
    assert payload["stackTrace"]


def test_a_dead_worker_is_reported_and_replaced(plan):
    runtime = make_runtime(plan, functions=("ValidateRequestFunction",))
    try:
        first, _ = invoke(runtime, plan, "ValidateRequestFunction", {"probe": "state"})
        died, failed = invoke(runtime, plan, "ValidateRequestFunction", {"probe": "exit", "status": 3})
        assert failed
        assert died["errorType"] == "Runtime.ExitError"
        assert "exit status 3" in died["errorMessage"]
        after, failed = invoke(runtime, plan, "ValidateRequestFunction", {"probe": "state"})
        assert not failed
        assert after["pid"] != first["pid"]
    finally:
        runtime.stop()


def test_a_worker_silent_past_its_deadline_is_ended_and_reported_timed_out(plan):
    spec = dataclasses.replace(plan.functions["ValidateRequestFunction"], timeout=1)
    runtime = WorkerRuntime(
        {spec.logical_id: spec},
        {spec.logical_id: plan.handler_environment(spec.logical_id)},
        aws_endpoint_url=UNREACHABLE,
        preload=("tests.local.probe",),
        hang_grace_s=0.5,
    )
    try:
        runtime.invoke(spec, {"probe": "state"})  # init done: the deadline counts the event only
        body, failed = runtime.invoke(spec, {"probe": "sleep", "seconds": 60})
        assert failed
        assert json.loads(body)["errorType"] == "Sandbox.Timedout"
        assert runtime.pools[spec.logical_id].workers() == []  # ended, replaced on demand
        body, failed = runtime.invoke(spec, {"probe": "state"})
        assert not failed
    finally:
        runtime.stop()


def test_a_module_that_does_not_import_is_reported_on_invocation(plan):
    spec = dataclasses.replace(plan.functions["ValidateRequestFunction"], handler="no_such_module.handler")
    runtime = WorkerRuntime(
        {spec.logical_id: spec},
        {spec.logical_id: plan.handler_environment(spec.logical_id)},
        aws_endpoint_url=UNREACHABLE,
    )
    try:
        body, failed = runtime.invoke(spec, {})
    finally:
        runtime.stop()
    assert failed
    assert json.loads(body)["errorType"] == "Runtime.ImportModuleError"


def test_warm_workers_are_started_and_initialised_with_the_runtime(plan):
    """Provisioned concurrency: the API's warm workers exist before the first request, and the
    bound grows to their number (max_workers=1 would otherwise allow one)."""
    runtime = make_runtime(plan, max_workers=1, warm_workers={"ApiFunction": 3})
    runtime.start()
    try:
        api, validate = runtime.pools["ApiFunction"], runtime.pools["ValidateRequestFunction"]
        warm = api.workers()
        assert len(warm) == 3
        assert all(worker._ready for worker in warm)  # start() waited for their init
        assert len(validate.workers()) == 1
        assert (api.max_workers, validate.max_workers) == (3, 1)
        results: list[dict] = []

        def call() -> None:
            payload, failed = invoke(runtime, plan, "ApiFunction", {"probe": "sleep", "seconds": 0.2})
            assert not failed
            results.append(payload)

        threads = [threading.Thread(target=call) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert len(results) == 6
        # Served by the warm workers only: none started on demand.
        assert {w.pid for w in api.workers()} == {w.pid for w in warm}
        assert {r["pid"] for r in results} <= {w.pid for w in warm}
    finally:
        runtime.stop()
