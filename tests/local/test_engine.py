"""The local engine running: moto with the definition, the Lambda workers, Invoke, passthrough."""

from __future__ import annotations

import dataclasses
import json
import os

import boto3
import pytest
from botocore.exceptions import ClientError

from local.engine import EngineError, LambdaContext, LambdaInvocationError, LocalEngine
from local.lambda_invoke import call_handler
from session_provisioning.nimble.client import nimble_client
from tests.support.workflow import ENVIRONMENT, PARAMETERS, STUDIO, execution_input

LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"


def validate_event(execution: dict) -> dict:
    return {
        "execution": execution,
        "requestId": "req-1",
        "requestedAt": "2026-11-27T10:00:00Z",
        "polling": {"initialWaitSeconds": 0, "intervalSeconds": 1, "checksPerPoll": 1, "budgetSeconds": 3},
    }


def test_lambda_context_looks_like_the_runtime():
    spec = LocalEngine().functions["CreateSessionFunction"]
    context = LambdaContext(spec)
    assert context.function_name == "CreateSessionFunction"
    assert context.function_version == "$LATEST"
    assert context.invoked_function_arn == LAMBDA_ARN.format("CreateSessionFunction")
    assert context.memory_limit_in_mb == "256"
    assert context.log_group_name == "/aws/lambda/CreateSessionFunction"
    assert "[$LATEST]" in context.log_stream_name
    assert context.aws_request_id != LambdaContext(spec).aws_request_id
    assert 29_000 < context.get_remaining_time_in_millis() <= 30_000


# --- with the engine running --------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(emulator):
    """The workers import tests.local.probe first: an event {"probe": ...} looks inside them."""
    with LocalEngine(
        parameter_overrides={**PARAMETERS, "NimbleEndpointUrl": emulator.url},
        environment=ENVIRONMENT,
        preload=("tests.local.probe",),
    ) as running:
        yield running


def test_moto_runs_the_substituted_definition(engine):
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    described = sfn.describe_state_machine(stateMachineArn=engine.state_machine_arn)
    assert described["definition"] == engine.definition
    assert described["type"] == "STANDARD"


def test_handlers_are_loaded_with_the_environment(engine, emulator):
    for logical_id in ("CreateSessionFunction", "PollSessionFunction", "DeleteSessionFunction"):
        state = engine.invoke(logical_id, {"probe": "state"})
        assert state["environ"]["AWS_ENDPOINT_URL_NIMBLE"] == emulator.url
        assert state["client_endpoint"] == emulator.url  # the module's client, built at import
    api = engine.invoke("ApiFunction", {"probe": "state"})["environ"]
    assert api["STATE_MACHINE_ARN"] == engine.state_machine_arn
    # The parent's own environment is left alone.
    assert "AWS_ENDPOINT_URL_NIMBLE" not in os.environ
    assert "STATE_MACHINE_ARN" not in os.environ


def test_invoke_returns_the_payload_or_the_lambda_error(engine):
    ok = engine.invoke("ValidateRequestFunction", validate_event(execution_input("tok", "me")))
    assert ok["request"]["clientToken"] == "tok"
    assert ok["polling"]["maxChecks"] == 4

    with pytest.raises(LambdaInvocationError) as failed:
        engine.invoke("ValidateRequestFunction", validate_event({"studioId": STUDIO}))
    payload = failed.value.payload
    assert payload["errorType"] == "ValidationException"
    assert json.loads(payload["errorMessage"])["fields"] == ["clientToken", "request"]
    assert payload["stackTrace"]
    assert all(isinstance(line, str) for line in payload["stackTrace"])
    with pytest.raises(KeyError):
        engine.invoke("NoSuchFunction", {})


def test_lambda_invoke_through_boto3_is_answered_by_the_workers(engine):
    lam = boto3.client("lambda", region_name="us-east-1")
    good = lam.invoke(
        FunctionName=LAMBDA_ARN.format("ValidateRequestFunction"),
        Payload=json.dumps(validate_event(execution_input("tok", "me"))),
    )
    assert good["StatusCode"] == 200
    assert "FunctionError" not in good
    assert json.load(good["Payload"])["request"]["studioId"] == STUDIO

    bad = lam.invoke(FunctionName="ValidateRequestFunction", Payload=json.dumps(validate_event({})))
    assert bad["FunctionError"] == "Unhandled"
    payload = json.load(bad["Payload"])
    assert set(payload) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert payload["errorType"] == "ValidationException"

    # A function the template does not define is left to moto's Lambda.
    with pytest.raises(ClientError) as unknown:
        lam.invoke(FunctionName=LAMBDA_ARN.format("Elsewhere"), Payload=b"{}")
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_handler_slower_than_its_timeout_is_reported_as_lambda_does(engine):
    spec = dataclasses.replace(engine.functions["ValidateRequestFunction"], timeout=0)
    body, failed = call_handler(spec, lambda: lambda event, context: {"ok": True}, {})
    assert failed
    assert json.loads(body)["errorType"] == "Sandbox.Timedout"


def test_nimble_calls_reach_the_emulator_while_aws_is_mocked(engine, emulator):
    before = emulator.backend.call_counts.get("ListStreamingSessions", 0)
    nimble = nimble_client(endpoint_url=emulator.url, region_name="us-east-1")
    assert nimble.list_streaming_sessions(studioId=STUDIO)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert emulator.backend.call_counts["ListStreamingSessions"] == before + 1
    # ... and AWS services are still moto's (the engine's own sink queue is there).
    queues = boto3.client("sqs", region_name="us-east-1").list_queues()["QueueUrls"]
    assert any(url.endswith("/local-engine-event-sink") for url in queues)


def test_only_one_engine_per_process(engine):
    with pytest.raises(EngineError, match="another LocalEngine"):
        LocalEngine().start()
    assert engine.events() is not None  # the running one is untouched
