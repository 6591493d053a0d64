"""Guards for the cold-start work: what the handlers must not import or build at init.

Each check runs a fresh interpreter (as a Lambda cold start does) and looks at ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NIMBLE_STEPS = (
    "session_provisioning.handlers.create_session",
    "session_provisioning.handlers.poll_session",
    "session_provisioning.handlers.delete_session",
    "session_provisioning.handlers.reconcile_execution",
)


def modules_after_import(module: str, *, tracing: bool = False) -> set[str]:
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "functions"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "EVENT_BUS_NAME": "bus",
        "EVENT_SOURCE": "test",
        "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:test",
    }
    if tracing:  # as deployed: Powertools builds the X-Ray recorder and patches
        env.pop("POWERTOOLS_TRACE_DISABLED", None)
        env.update({"AWS_LAMBDA_FUNCTION_NAME": "test", "LAMBDA_TASK_ROOT": str(ROOT / "functions")})
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", NIMBLE_STEPS)
def test_the_nimble_steps_do_not_import_boto3(module):
    modules = modules_after_import(module)
    assert module in modules
    assert "botocore.client" in modules
    assert "boto3" not in modules


def test_the_api_leaves_boto3_and_the_openapi_models_for_later():
    modules = modules_after_import("session_provisioning.handlers.api")
    assert "boto3" not in modules
    assert "aws_lambda_powertools.event_handler.openapi.models" not in modules


def test_the_tracer_patches_botocore_only():
    modules = modules_after_import("session_provisioning.observability", tracing=True)
    assert "aws_xray_sdk.ext.botocore.patch" in modules
    assert "aws_xray_sdk.ext.httplib.patch" not in modules
    assert "sqlite3" not in modules


def test_a_shared_botocore_session_gets_the_model_once():
    import botocore.session

    from session_provisioning.nimble.client import NIMBLE_DATA_PATH, nimble_client

    session = botocore.session.get_session()
    first = nimble_client(botocore_session=session, region_name="us-east-1")
    second = nimble_client(botocore_session=session, region_name="us-east-1")
    assert first.meta.service_model.service_name == second.meta.service_model.service_name == "nimble"
    assert session.get_component("data_loader").search_paths.count(str(NIMBLE_DATA_PATH)) == 1
    with pytest.raises(TypeError, match="not both"):
        nimble_client(botocore_session=session, boto3_session=object())


@pytest.mark.parametrize(
    "module",
    [
        "session_provisioning.handlers.validate_request",
        "session_provisioning.handlers.create_session",
        "session_provisioning.handlers.poll_session",
        "session_provisioning.handlers.delete_session",
    ],
)
def test_the_workflow_steps_leave_the_event_models_to_the_ready_poll(module):
    # Only the poll that finds the session READY builds an event detail (logic.steps.ready_detail).
    assert "session_provisioning.models.events" not in modules_after_import(module)
