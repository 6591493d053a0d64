"""IAM enforced in the local stack: every call a workflow run makes is allowed by its role."""

from __future__ import annotations

import time
import uuid

from local.engine import LocalEngine
from tests.support.workflow import events_for, execution_input


def wait_for(condition, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return value


def run(engine: LocalEngine, **request) -> tuple[dict, list[dict]]:
    name = f"req-iam-{uuid.uuid4().hex[:10]}"
    arn = engine.start_execution(execution_input(name, "artist-iam", **request), name=name)
    result = engine.wait(arn, timeout=90)
    return result, wait_for(lambda: events_for(engine.events(), name), timeout=30) if result[
        "status"
    ] == "SUCCEEDED" else events_for(engine.events(), name)


def test_every_call_of_a_workflow_run_is_allowed_by_its_role(emulator, engine) -> None:
    emulator.backend.add_fault(sessionOutcome="CREATE_FAILED", count=1)  # the cleanup path too
    for _ in range(2):
        result, _events = run(engine)
        assert result["status"] in {"SUCCEEDED", "FAILED"}  # READY, or CREATE_FAILED announced
    decided = engine.iam.decisions + [(arn, *rest) for arn, *rest in emulator.server.app.decisions]
    actions = {action for _, action, _, _ in decided}
    assert {"lambda:InvokeFunction", "events:PutEvents", "nimble:CreateStreamingSession"} <= actions
    assert "nimble:GetStreamingSession" in actions
    assert [d for d in decided if d[3] != "allowed"] == []
    # createdBy: the assumed-role ARN of the function that created the session.
    session = emulator.backend.snapshot()["sessions"][-1]
    assert session["createdBy"].endswith(
        ":assumed-role/nimble-local-CreateSessionFunctionRole/CreateSessionFunction"
    )
