"""IAM enforced in the local stack: every call a workflow run makes is allowed by its role."""

from __future__ import annotations

from tests.support.workflow import run_request


def test_every_call_of_a_workflow_run_is_allowed_by_its_role(emulator, engine) -> None:
    emulator.backend.add_fault(sessionOutcome="CREATE_FAILED", count=1)  # the cleanup path too
    for _ in range(2):
        result, _events = run_request(engine, "artist-iam")
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
