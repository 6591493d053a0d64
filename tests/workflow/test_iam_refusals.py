"""A copy of the template with one statement removed, for each role that calls AWS: the refusal
shows where a user would see it (issue 12)."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import boto3
import pytest

from local.emulator import EmulatorConfig, start_emulator
from local.engine import REGION, REPO_ROOT, LambdaInvocationError, LocalEngine, load_template
from tests.support.announcements import scheduled_event
from tests.support.waiting import wait_until
from tests.support.workflow import (
    ENVIRONMENT,
    PARAMETERS,
    PROVISIONING_SECONDS,
    events_for,
    execution_input,
    run_request,
)


def without_statement(tmp_path: Path, owner: str, policy: int, statement: int | None = None) -> Path:
    """A copy of the template with one policy entry (or one statement of it) removed."""
    template = copy.deepcopy(load_template(REPO_ROOT / "template.yaml"))
    policies = template["Resources"][owner]["Properties"]["Policies"]
    if statement is None:
        del policies[policy]
    else:
        del policies[policy]["Statement"][statement]
    for folder in ("functions", "statemachine"):
        (tmp_path / folder).symlink_to(REPO_ROOT / folder)
    path = tmp_path / "template.yaml"
    path.write_text(json.dumps(template), encoding="utf-8")  # JSON is YAML
    return path


@pytest.fixture
def fresh_emulator():
    with start_emulator(port=0, config=EmulatorConfig(provisioning_seconds=PROVISIONING_SECONDS)) as emu:
        yield emu


def engine_for(template: Path, emulator, **options) -> LocalEngine:
    return LocalEngine(
        template,
        parameter_overrides={**PARAMETERS, "NimbleEndpointUrl": emulator.url},
        environment=ENVIRONMENT,
        max_workers_per_function=1,
        **options,
    )


@pytest.mark.parametrize(
    ("owner", "policy", "statement", "step"),
    [
        ("CreateSessionFunction", 0, 0, "CreateSession"),  # nimble:CreateStreamingSession
        ("CreateSessionFunction", 0, 3, "CreateSession"),  # ec2:CreateNetworkInterface (dependent)
        ("PollSessionFunction", 0, 0, "PollSession"),  # nimble:GetStreamingSession
        ("PollSessionFunction", 0, 1, "PollSession"),  # dynamodb:UpdateItem (the next check's slot)
        ("ReserveCallSlotsFunction", 0, None, "ReserveCallSlots"),  # dynamodb:UpdateItem
    ],
)
def test_a_step_without_its_grant_fails_with_access_denied(
    tmp_path, fresh_emulator, owner, policy, statement, step
) -> None:
    with engine_for(without_statement(tmp_path, owner, policy, statement), fresh_emulator) as engine:
        result, _ = run_request(engine, "artist-iam")
        assert result["status"] == "FAILED"  # after the workflow caught it and announced it
        (event,) = wait_until(
            lambda: [e for e in engine.events() if e["detail-type"] == "Streaming Session Failed"]
        )
        assert event["detail"]["error"]["code"] == "AccessDeniedException"
        assert event["detail"]["error"]["step"] == step
        assert engine.plan.functions
        assert f"{owner}Role" in event["detail"]["error"]["message"]


def test_the_api_without_start_execution_answers_5xx_and_starts_nothing(
    tmp_path, fresh_emulator, caplog
) -> None:
    with engine_for(without_statement(tmp_path, "ApiFunction", 0), fresh_emulator) as engine:
        body = {
            "launchProfileId": "lp-local",
            "ec2InstanceType": "g4dn.xlarge",
            "ownedBy": "artist@example.com",
        }
        event = {
            "httpMethod": "POST",
            "resource": "/studios/{studioId}/streaming-sessions",
            "path": "/studios/studio-local/streaming-sessions",
            "pathParameters": {"studioId": "studio-local"},
            "headers": {
                "Content-Type": "application/json",
                "X-Amz-Client-Token": f"iam-{uuid.uuid4().hex[:8]}",
            },
            "body": json.dumps(body),
            "requestContext": {"requestId": str(uuid.uuid4())},
        }
        response = engine.invoke("ApiFunction", event)
        assert response["statusCode"] >= 500, response
        assert engine._sfn.list_executions(stateMachineArn=engine.state_machine_arn)["executions"] == []
        denied = [d for d in engine.iam.decisions if d[3] != "allowed"]
        assert denied
        assert denied[0][:2] == ("ApiFunction", "states:StartExecution")


def test_the_state_machine_without_put_events_fails_the_execution(tmp_path, fresh_emulator) -> None:
    # ProvisioningStateMachine's Policies: six LambdaInvokePolicy, then EventBridgePutEventsPolicy.
    with engine_for(without_statement(tmp_path, "ProvisioningStateMachine", 6), fresh_emulator) as engine:
        result, _ = run_request(engine, "artist-iam")
        assert result["status"] == "FAILED"  # ExecutionsFailed: the alarm's metric
        assert "AccessDeniedException" in (result.get("error", "") + result.get("cause", ""))
        assert engine.events() == []


def test_the_reconciler_without_get_execution_history_is_refused(tmp_path, fresh_emulator) -> None:
    with engine_for(
        without_statement(tmp_path, "ReconcileExecutionFunction", 0, 0), fresh_emulator
    ) as engine:
        name = f"req-iam-{uuid.uuid4().hex[:10]}"
        arn = engine.start_execution(execution_input(name, "artist-iam"), name=name)
        engine._sfn.stop_execution(executionArn=arn, cause="test")
        description = engine.describe(arn)
        detail = {
            k: description.get(k) for k in ("executionArn", "stateMachineArn", "name", "status", "input")
        }
        detail["startDate"] = int(description["startDate"].timestamp() * 1000)
        status_change = {
            "source": "aws.states",
            "detail-type": "Step Functions Execution Status Change",
            "detail": detail,
        }
        with pytest.raises(LambdaInvocationError) as raised:
            engine.invoke("ReconcileExecutionFunction", status_change)
        assert "AccessDeniedException" in json.dumps(
            raised.value.payload if hasattr(raised.value, "payload") else str(raised.value)
        )


def test_the_cleanup_without_its_dependent_grant_says_the_deletion_was_refused(
    tmp_path, fresh_emulator
) -> None:
    # DeleteSessionFunction's first policy: [Delete+GetStreamingSession, ec2:DeleteNetworkInterface].
    with engine_for(without_statement(tmp_path, "DeleteSessionFunction", 0, 1), fresh_emulator) as engine:
        name = f"req-iam-{uuid.uuid4().hex[:10]}"
        fresh_emulator.backend.add_fault(session_outcome="NEVER_READY", match={"clientToken": name})
        arn = engine.start_execution(execution_input(name, "artist-iam"), name=name)
        assert engine.wait(arn, timeout=90)["status"] == "FAILED"
        (event,) = wait_until(lambda: events_for(engine.events(), name))
        assert event["detail"]["error"]["code"] == "SessionNotReadyInTime"
        cleanup = event["detail"]["cleanup"]
        assert cleanup["sessionDeleted"] is False
        assert cleanup["action"] == "DELETE_FAILED"
        assert "AccessDeniedException" in cleanup["message"]
        assert "ec2:DeleteNetworkInterface" in cleanup["message"]


def test_a_reconciler_refused_by_its_role_lands_in_its_dead_letter_queue(tmp_path, fresh_emulator) -> None:
    """Through the rule, as deployed: retried, then its invocation record in the DLQ (alarmed)."""
    template = without_statement(tmp_path, "ReconcileExecutionFunction", 0, 0)
    with engine_for(template, fresh_emulator, event_rules=True, retry_delay_scale=0.01) as engine:
        name = f"req-iam-{uuid.uuid4().hex[:10]}"
        fresh_emulator.backend.add_fault(session_outcome="NEVER_READY", match={"clientToken": name})
        arn = engine.start_execution(execution_input(name, "artist-iam"), name=name)
        boto3.client("stepfunctions", region_name=REGION).stop_execution(
            executionArn=arn, error="Test", cause="stopped by the test"
        )
        (record,) = wait_until(
            lambda: engine.queue_messages("ReconcileExecutionDeadLetterQueue"), timeout=120
        )
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert "AccessDeniedException" in json.dumps(record["responsePayload"])
        assert events_for(engine.events(), name) == []


@pytest.mark.parametrize(
    ("statement", "trigger", "action"),
    [
        # ReconcileExecutionFunction's first policy: statement 8 is the announcements table's.
        (8, "status change", "dynamodb:GetItem"),
        # Statement 6: states:ListExecutions on the state machine, the sweep's listing.
        (6, "schedule", "states:ListExecutions"),
    ],
)
def test_the_reconciler_without_its_table_or_listing_grant_is_refused_and_publishes_nothing(
    tmp_path, fresh_emulator, statement, trigger, action
) -> None:
    with engine_for(
        without_statement(tmp_path, "ReconcileExecutionFunction", 0, statement), fresh_emulator
    ) as engine:
        name = f"req-iam-{uuid.uuid4().hex[:10]}"
        fresh_emulator.backend.add_fault(session_outcome="NEVER_READY", match={"clientToken": name})
        arn = engine.start_execution(execution_input(name, "artist-iam"), name=name)
        engine._sfn.stop_execution(executionArn=arn, cause="test")
        [status_change] = wait_until(
            lambda: [e for e in engine.status_events() if e["detail"]["status"] == "ABORTED"]
        )
        event = status_change if trigger == "status change" else scheduled_event()
        with pytest.raises(LambdaInvocationError) as raised:
            engine.invoke("ReconcileExecutionFunction", event)
        assert "AccessDeniedException" in str(raised.value.payload)
        denied = [
            d for d in engine.iam.decisions if d[0] == "ReconcileExecutionFunction" and d[3] != "allowed"
        ]
        assert [d[1] for d in denied] == [action]
        assert events_for(engine.events(), name) == []
